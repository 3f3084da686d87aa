--[[
  seatKeys(meta, seats, avail, seatIndex, holds, userSeats, rows, runs): the
  event's seat keys as a table. Every seat script declares them as its
  KEYS[1..8] in this order and passes them in: seatKeys(unpack(KEYS, 1, 8)).
]]
local function seatKeys(meta, seats, avail, seatIndex, holds, userSeats, rows, runs)
  return { meta = meta, seats = seats, avail = avail, seatIndex = seatIndex,
    holds = holds, userSeats = userSeats, rows = rows, runs = runs }
end
