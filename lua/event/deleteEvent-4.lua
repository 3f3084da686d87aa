--[[
  Starts deleting an event (DELETE /v1/events/:eventId). Removes the event
  hash, so from this call on every script answers EVENT_NOT_FOUND before any
  write, and no replica works on the event again. The service then removes
  the other keys in bounded batches, the seat index last: while it exists,
  createEvent answers EVENT_EXISTS, so a new event of the same id never mixes
  with what is left of the old one.

  Input:
    KEYS[1] meta       event hash
    KEYS[2] seatIndex  sorted set of every seat (the service removes it last)
    KEYS[3] active     sorted set seq -> session end (ms)
    KEYS[4] holds      sorted set holdId -> expiresAt (ms)

    ARGV[1] force      '1': delete even while sessions or holds are live; '0': refuse then

  Output:
    { 'OK' }                                  deleting (also when an earlier delete was cut short)
    { 'EVENT_ACTIVE', liveSessions, liveHolds }   something is live and force is '0'
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument force ...' (nothing written)
]]
local rcall = redis.call
local metaKey, seatIndexKey, activeKey, holdsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

--- @include "includes/args"
--- @include "includes/now"

local force = argOneOf('force', ARGV[1], { '0', '1' })
if rcall('EXISTS', metaKey) == 0 then
  -- A delete that stopped half-way left its seat index: finish it.
  if rcall('EXISTS', seatIndexKey) == 1 then
    return { 'OK' }
  end
  return { 'EVENT_NOT_FOUND' }
end
if force == '0' then
  local now = nowMs()
  local sessions = rcall('ZCOUNT', activeKey, '(' .. now, '+inf')
  local holds = rcall('ZCOUNT', holdsKey, '(' .. now, '+inf')
  if sessions > 0 or holds > 0 then
    return { 'EVENT_ACTIVE', sessions, holds }
  end
end
rcall('DEL', metaKey)
return { 'OK' }
