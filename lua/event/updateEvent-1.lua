--[[
  Changes an event's settings (PATCH). Only the fields given change; the
  admitter and the seat scripts read them on their next call.

  Input:
    KEYS[1] meta      event hash
    ARGV[1..] field, value pairs among holdTtlSeconds, maxSeatsPerUser,
              ratePerSecond, maxActive, sessionTtlSeconds, paused (0|1)
              (names and ranges checked by the service)

  Output:
    { 'OK' }
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is not field, value pairs or
      names a field the scripts keep themselves (nothing written)
]]
local rcall = redis.call
local metaKey = KEYS[1]

--- @include "includes/args"

-- Counters and queue state: only the scripts that keep them may write them.
local KEPT = { capacity = true, available = true, held = true, sold = true, queue = true, seq = true,
  head = true, lastScore = true, tokens = true, tokensAt = true }
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

if rcall('EXISTS', metaKey) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
if #ARGV > 0 then
  rcall('HSET', metaKey, unpack(ARGV))
end
return { 'OK' }
