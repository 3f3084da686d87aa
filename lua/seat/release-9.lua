--[[
  Releases a live hold: its seats are available again at once.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)
    KEYS[9] hold       the hold's hash

    ARGV[1] userId      from the access token
    ARGV[2] holdId
    ARGV[3] sessionId   from the access token: the hold's session must be it

  Output:
    { 'OK', seatsReleased }
    { 'HOLD_NOT_FOUND' }   unknown, expired, released or confirmed
    { 'NOT_OWNER' }        another user's hold, or another session's; nothing changes
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local holdKey = KEYS[9]

--- @include "includes/args"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"
--- @include "includes/holdRecord"

local userId, holdId, sessionId = argId('userId', ARGV[1]), argId('holdId', ARGV[2]), argId('sessionId', ARGV[3])

local k = seatKeys(unpack(KEYS, 1, 8))
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
reclaimDueHolds(k)

local hold, refused = callersHold(holdKey, userId, sessionId)
if not hold then
  return { refused }
end
-- Live only while its member is in the holds index (the sweep removes it).
if not holdIsLive(k, holdId, userId, hold) then
  return { 'HOLD_NOT_FOUND' }
end
local count = releaseHoldSeats(k, holdId, userId, hold[2])
rcall('DEL', holdKey)
return { 'OK', count }
