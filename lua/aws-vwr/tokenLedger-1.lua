--[[
  The AWS-compatible tokens handed out for one event (generate_token), so
  that expired_tokens can list the request ids whose session ran out without
  an update_session. Member = request id, score = the session's end (ms).
  At most LEDGER_KEEP ran-out entries are kept (the most recent ones).

  Input:
    KEYS[1] ledger    sorted set request id -> session end (ms)

    ARGV[1] op        'record' | 'forget' | 'expired'
    ARGV[2] requestId (record, forget)
    ARGV[3] endMs     (record) the session's end, Redis time in ms

  Output:
    record:  { 'OK' }
    forget:  { 'OK', removed (0|1) }
    expired: { 'OK', requestId, ... }   most recent first, at most LEDGER_KEEP
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local ledgerKey = KEYS[1]
local LEDGER_KEEP = 10000

--- @include "includes/args"
--- @include "includes/now"

local op = argOneOf('op', ARGV[1], { 'record', 'forget', 'expired' })
if op == 'record' then
  local requestId, endMs = argId('requestId', ARGV[2]), argInt('endMs', ARGV[3], 0)
  rcall('ZADD', ledgerKey, endMs, requestId)
  -- Ran-out entries beyond the most recent LEDGER_KEEP go (oldest first, a bounded few per call).
  local ranOut = rcall('ZCOUNT', ledgerKey, '-inf', nowMs())
  if ranOut > LEDGER_KEEP then
    rcall('ZREMRANGEBYRANK', ledgerKey, 0, math.min(ranOut - LEDGER_KEEP, 100) - 1)
  end
  return { 'OK' }
elseif op == 'forget' then
  return { 'OK', rcall('ZREM', ledgerKey, argId('requestId', ARGV[2])) }
end
local out = { 'OK' }
for _, id in ipairs(rcall('ZREVRANGEBYSCORE', ledgerKey, nowMs(), '-inf', 'LIMIT', 0, LEDGER_KEEP)) do
  out[#out + 1] = id
end
return out
