--[[
  Returns the seats of expired holds to sale. The background sweeper calls it
  for every event at least once a second, so seats come back with no traffic
  at all (keyspace notifications are not used: they are lost when nobody
  listens).

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

    ARGV[1] holdPrefix  key prefix of hold hashes
    ARGV[2] limit       most holds expired by this call

  Output:
    { 'OK', holdsExpired }
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local holdPrefix, limit = ARGV[1], tonumber(ARGV[2])

--- @include "includes/now"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"

local k = seatKeys(holdPrefix)
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
return { 'OK', sweepExpiredHolds(k, nowMs(), limit) }
