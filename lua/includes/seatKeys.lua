--[[
  seatKeys(): the event's seat keys as a table, from KEYS[1..6] (every seat
  script passes them in this order).
]]
local function seatKeys()
  return { meta = KEYS[1], seats = KEYS[2], avail = KEYS[3], seatIndex = KEYS[4],
    holds = KEYS[5], userSeats = KEYS[6] }
end
