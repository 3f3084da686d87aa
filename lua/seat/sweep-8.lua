--[[
  Returns the seats of expired holds to sale. The background sweeper calls it
  for every event with seats held at least once a second, so seats come back
  with no traffic at all (keyspace notifications are not used: they are lost
  when nobody listens). It reads only the live-hold index, never a hold's record, so a
  hold whose record is gone still gives its seats back (CONTRACT invariant 9).

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

    ARGV[1] limit         most holds expired by this call (>= 1)
    ARGV[2] checkPeriodMs lost-record check: at most one per this many ms per
                          event, whichever replica's sweep comes first (0 or
                          absent: none)
    ARGV[3] checkWindow   live holds named per check (1..1000)

  The lost-record check (CONTRACT invariant 9): a hold whose record is gone
  before its expiry must give its seats back within 1 s, and only the caller
  can look for a record without building its key in the script. So when no
  check ran for checkPeriodMs, this call claims the next one (the time and a
  cursor through the live-hold index are kept in the event hash, shared by
  every replica) and returns the next checkWindow live-hold members; the
  caller looks for their records (one pipelined EXISTS batch) and reclaims
  the lost ones (reclaimHold). However many replicas sweep, an event costs
  one check per period.

  Output:
    { 'OK', holdsExpired, liveHolds, member... }   liveHolds: holds still live
                        after the sweep; members ('<holdId>|<userId>|<seats>')
                        only when this call claimed the lost-record check
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"

local limit = argInt('limit', ARGV[1], 1)
local checkPeriodMs = argInt('checkPeriodMs', ARGV[2] or '0', 0)
local checkWindow = argInt('checkWindow', ARGV[3] or '1', 1, 1000)

local k = seatKeys()
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
local now = nowMs()
local expired = sweepExpiredHolds(k, now, limit)
local live = rcall('ZCARD', k.holds)
local reply = { 'OK', expired, live }
if checkPeriodMs > 0 and live > 0 and expired < limit then
  local c = rcall('HMGET', k.meta, 'recordCheckAt', 'recordCheckCursor')
  if now - tonumber(c[1] or '0') >= checkPeriodMs then
    local from = tonumber(c[2] or '0')
    if from >= live then from = 0 end
    local members = rcall('ZRANGE', k.holds, from, from + checkWindow - 1)
    -- Past the end: the next check starts over from the first live hold.
    local nextFrom = (#members < checkWindow) and 0 or from + #members
    rcall('HSET', k.meta, 'recordCheckAt', now, 'recordCheckCursor', nextFrom)
    for _, member in ipairs(members) do reply[#reply + 1] = member end
  end
end
return reply
