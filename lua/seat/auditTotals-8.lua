--[[
  The audit's last step: the event's counters, read at one moment, for the
  service to compare with the chunks' recount. Reads only, O(levels).

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

  Output:
    { 'OK', rev, capacity, available, held, sold, availableSetSize, 'level:a:h:s,...', runIndexSize }
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call

--- @include "includes/seatKeys"

local k = seatKeys(unpack(KEYS, 1, 8))
local m = rcall('HMGET', k.meta, 'capacity', 'rev', 'available', 'held', 'sold', 'levels')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local levels = {}
for level = 1, tonumber(m[6] or 0) do
  local c = rcall('HMGET', k.meta, 'a:' .. level, 'h:' .. level, 's:' .. level)
  levels[#levels + 1] = level .. ':' .. c[1] .. ':' .. c[2] .. ':' .. c[3]
end
return { 'OK', tonumber(m[2] or 0), tonumber(m[1]), tonumber(m[3]), tonumber(m[4]), tonumber(m[5]),
  rcall('ZCARD', k.avail), table.concat(levels, ','), rcall('ZCARD', k.runs) }
