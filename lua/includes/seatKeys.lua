--[[
  seatKeys(): the event's seat keys as a table, from KEYS[1..8] (every seat
  script passes them in this order).
]]
local function seatKeys()
  return { meta = KEYS[1], seats = KEYS[2], avail = KEYS[3], seatIndex = KEYS[4],
    holds = KEYS[5], userSeats = KEYS[6], rows = KEYS[7], runs = KEYS[8] }
end
