--[[
  Releases a live hold: its seats are available again at once.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)
    KEYS[9] hold       the hold's hash

    ARGV[1] userId      from the access token
    ARGV[2] holdId
    ARGV[3] holdPrefix  key prefix of hold hashes (for the sweep)

  Output:
    { 'OK', seatsReleased }
    { 'HOLD_NOT_FOUND' }   unknown, expired, released or confirmed
    { 'NOT_OWNER' }        another user's hold; nothing changes
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local holdKey = KEYS[9]
local userId, holdId, holdPrefix = ARGV[1], ARGV[2], ARGV[3]

--- @include "includes/now"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"

local k = seatKeys(holdPrefix)
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
sweepExpiredHolds(k, nowMs(), INLINE_SWEEP_LIMIT)

local hold = rcall('HMGET', holdKey, 'userId', 'seatIds', 'state')
if not hold[1] then
  return { 'HOLD_NOT_FOUND' }
end
if hold[1] ~= userId then
  return { 'NOT_OWNER' }
end
if hold[3] ~= 'held' then
  return { 'HOLD_NOT_FOUND' }
end
local count = releaseHoldSeats(k, holdId, hold[2], userId)
rcall('DEL', holdKey)
return { 'OK', count }
