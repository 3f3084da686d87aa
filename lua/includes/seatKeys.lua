--[[
  seatKeys(): the event's seat keys as a table, from KEYS[1..8] (every seat
  script passes them in this order) and the per-hold key prefix.
]]
local function seatKeys(holdPrefix)
  return { meta = KEYS[1], seats = KEYS[2], avail = KEYS[3], seatIndex = KEYS[4],
    holds = KEYS[5], userSeats = KEYS[6], rows = KEYS[7], runs = KEYS[8], holdPrefix = holdPrefix }
end

-- How many expired holds a seat operation reclaims before its own work; the
-- background sweeper takes the rest, every event at least once a second.
local INLINE_SWEEP_LIMIT = 50
