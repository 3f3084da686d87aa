--[[
  Returns to sale the seats of one live hold whose record is gone (evicted,
  deleted behind the service's back), so they are not held, unbuyable, until
  the hold falls due (CONTRACT invariant 9). The sweeper finds such holds by
  reading a window of the live-hold index and looking for their records; this
  script checks again, atomically, that the record is still missing and the
  hold still live before it changes anything.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)
    KEYS[9] hold       the hold's record (its key for the hold named in ARGV[1])

    ARGV[1] member     the hold's member of the live-hold index, '<holdId>|<userId>|<seats>'

  Output:
    { 'OK', seatsReturned }   0 when the record exists or the hold is no longer live
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local holdKey = KEYS[9]

--- @include "includes/args"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"

local holdId, userId, seatList = parseHoldMember(ARGV[1] or '')
if not holdId or holdId == '' or userId == '' or seatList == '' then
  argFail('member', ARGV[1], "must be '<holdId>|<userId>|<seats>'")
end
if string.sub(holdKey, -(#holdId + 1)) ~= ':' .. holdId then
  argFail('hold key', holdKey, 'must be the record key of hold ' .. holdId)
end

local k = seatKeys(unpack(KEYS, 1, 8))
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
if rcall('EXISTS', holdKey) == 1 or not rcall('ZSCORE', k.holds, ARGV[1]) then
  return { 'OK', 0 }
end
return { 'OK', releaseHoldSeats(k, holdId, userId, seatList) }
