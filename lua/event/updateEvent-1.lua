--[[
  Changes an event's settings (PATCH). Only the fields given change; the
  admitter and the seat scripts read them on their next call. Every change
  raises the event's revision, which the service copies into the event
  registry: a replica that stopped looking at an ended event looks again
  when its revision moves (src/event/event-activity.ts).

  Input:
    KEYS[1] meta      event hash
    ARGV[1..] field, value pairs among holdTtlSeconds, maxSeatsPerUser,
              ratePerSecond, maxActive, sessionTtlSeconds, paused (0|1),
              powBits (join challenge difficulty, 0..32),
              endsAt (Redis time in ms, 0 for no end),
              queueMethod (switching moves nobody: see admit-12.lua),
              redirectOrigins (JSON list of origins, read by the Queue-it flow),
              admissionMode ('auto' | 'manual')
              (names and ranges checked by the service)

  Output:
    { 'OK', revision }   revision: greater than any before, at least the Redis time (ms)
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is not field, value pairs or
      names a field the scripts keep themselves (nothing written)
]]
local rcall = redis.call
local metaKey = KEYS[1]

--- @include "includes/args"
--- @include "includes/now"

-- Counters, queue state and what the replicas read to schedule their work:
-- only the scripts that keep them may write them.
local KEPT = { capacity = true, available = true, held = true, sold = true, queue = true, seq = true,
  head = true, lastScore = true, tokens = true, tokensAt = true, leftVersion = true, createdAt = true, rev = true, seatv = true, seatt = true,
  drained = true, sessionsUntil = true,
  seed = true, commitment = true, queueOpensAt = true, salesStartAt = true,
  pseq = true, pqWaiting = true, pqSealed = true, pqBase = true, pqCount = true, pqTaken = true }
if #ARGV % 2 ~= 0 then
  argFail('ARGV', #ARGV .. ' values', 'must be field, value pairs')
end
for i = 1, #ARGV, 2 do
  if KEPT[argId('field', ARGV[i])] then
    argFail('field', ARGV[i], 'is kept by the scripts, not settable')
  end
  if ARGV[i + 1] == '' then
    argFail(ARGV[i], '', 'must not be empty')
  end
end

local m = rcall('HMGET', metaKey, 'createdAt', 'rev')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local rev = math.max(tonumber(m[2] or m[1]) + 1, nowMs())
rcall('HSET', metaKey, 'rev', rev, unpack(ARGV))
return { 'OK', rev }
