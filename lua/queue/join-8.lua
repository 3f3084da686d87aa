--[[
  Joins the waiting queue: dedupe check, next arrival sequence, append to the
  event's queue backend and the ticket record, in one step, so that of any
  number of concurrent joins by one user exactly one succeeds.

  The service signs the ticket from the sequence and the event's createdAt
  (it verifies itself), so the entry holds only the user id. When the client
  sent an Idempotency-Key, the service passes a fingerprint of it, stored with
  the entry (and later the session), so a retry of a join whose answer was
  lost gets the same sequence back (REPLAYED) instead of a DUPLICATE it could
  never use. Joins are refused once the event is sold out (available == 0
  and held == 0: nothing can come back on sale) or closed (past its endsAt).

  With JOIN_IDENTITY=jwt the user is a verified person, so a repeated join
  (another tab, another device) is answered with that person's existing
  place (EXISTING) instead of DUPLICATE: the place follows the person.

  An event with a proof-of-work challenge (meta powBits > 0) takes a new place
  only with a challenge the service verified (MAC and work); here it must be
  unexpired by Redis time and unused, and it is marked used with the join.
  A refused join writes nothing.

  Input:
    KEYS[1] meta      event hash (queue backend, seq, head, lastScore, rates, counters, createdAt, powBits, endsAt)
    KEYS[2] users     hash userId -> seq, while the user waits or is active
    KEYS[3] stream    Streams backend: entry id '<seq>-0', fields u (userId) [, k (key fingerprint)]
    KEYS[4] zqueue    sorted-set backend: member seq, score = join ms * 1024, strictly increasing
    KEYS[5] zwait     sorted-set backend: hash seq -> '<fingerprint>|<userId>'
    KEYS[6] active    sorted set seq -> session end (ms)
    KEYS[7] sessions  hash seq -> '<fingerprint>|<userId>' of admitted users
    KEYS[8] powUsed   sorted set challengeId -> its expiry (ms): challenges already used

    ARGV[1] userId
    ARGV[2] Idempotency-Key fingerprint (base64url), or '' for a join without a key
    ARGV[3] '1': answer a user who already waits or is active with EXISTING, not DUPLICATE; else '0'
    ARGV[4] challengeId   of a verified challenge, or '' when the join sent none
    ARGV[5] challengeBits the difficulty it was issued with (0..32; 0 without a challenge)
    ARGV[6] challengeExpiresAtMs (0 without a challenge)

  Output:
    { 'OK', seq, position, etaRatePerSecond, queue, createdAtMs }
    { 'REPLAYED', seq, position, etaRatePerSecond, queue, createdAtMs }  same user, same key: the first sequence
    { 'EXISTING', seq, position, etaRatePerSecond, queue, createdAtMs }  the user's place (ARGV[3]); position 0: admitted
    { 'DUPLICATE', position }   position 0 means the user is already admitted
    { 'CHALLENGE_REQUIRED' }    the event asks for a challenge and none came
    { 'CHALLENGE_FAILED' }      expired, already used, or easier than the event now asks
    { 'CLOSED' }                the event is closed (past its endsAt): nobody joins
    { 'SOLD_OUT' }              nothing left to sell: no new place
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
    error reply 'INVARIANT ...' when the event hash lacks a queue setting (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, streamKey, zqueueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local zwaitKey, activeKey, sessionsKey, powUsedKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/queuePosition"
--- @include "includes/eventStatus"
--- @include "includes/etaRate"

local userId = argId('userId', ARGV[1])
local fingerprint = ARGV[2] == '' and '' or argId('fingerprint', ARGV[2])
local answerExisting = argOneOf('answerExisting', ARGV[3], { '0', '1' }) == '1'
local challengeId = ARGV[4] == '' and '' or argId('challengeId', ARGV[4])
local challengeBits = argInt('challengeBits', ARGV[5], 0, 32)
local challengeExpiresAt = argInt('challengeExpiresAtMs', ARGV[6], 0)

-- The fingerprint stored with an admitted session or a sorted-set entry, or nil.
local function storedFingerprint(record)
  if record then
    return string.sub(record, 1, string.find(record, '|', 1, true) - 1)
  end
  return nil
end
local function waitingFingerprint(queueKind, seq)
  if queueKind == 'streams' then
    local entry = rcall('XRANGE', streamKey, seq .. '-0', seq .. '-0')[1]
    return entry and (entry[2][4] or '')
  end
  return storedFingerprint(rcall('HGET', zwaitKey, seq))
end

local m = rcall('HMGET', metaKey, 'queue', 'head', 'ratePerSecond', 'lastScore', 'observedRate', 'createdAt',
  'powBits')
local queueKind = m[1]
if not queueKind then
  return { 'EVENT_NOT_FOUND' }
end
local head, lastScore, createdAt = tonumber(m[2]), tonumber(m[4]), tonumber(m[6])
-- Checked before any write, so a broken hash cannot leave half a join.
if not head or not tonumber(m[3]) or not createdAt or (queueKind == 'zset' and not lastScore) then
  return redis.error_reply('INVARIANT event hash ' .. metaKey .. ' lacks queue settings')
end
-- A string: Redis would truncate a fractional Lua number to an integer.
local rate = tostring(etaRate(m[3], m[5]))
local now = nowMs()
local status = eventStatus(metaKey, now)
if status == 'closed' then
  return { 'CLOSED' }
end
-- A replay of a sequence may still come after the sale ended (it is the same
-- join), a new place may not.
local soldOut = status == 'soldOut'

local existing = rcall('HGET', usersKey, userId)
if existing then
  local position = waitingPosition(queueKind, existing, head, zqueueKey, zwaitKey)
  if position then
    if fingerprint ~= '' and waitingFingerprint(queueKind, existing) == fingerprint then
      return { 'REPLAYED', tonumber(existing), position, rate, queueKind, createdAt }
    end
    if answerExisting then
      return { 'EXISTING', tonumber(existing), position, rate, queueKind, createdAt }
    end
    return { 'DUPLICATE', position }
  end
  local sessionEnd = rcall('ZSCORE', activeKey, existing)
  if sessionEnd and tonumber(sessionEnd) > now then
    if fingerprint ~= '' and storedFingerprint(rcall('HGET', sessionsKey, existing)) == fingerprint then
      return { 'REPLAYED', tonumber(existing), 0, rate, queueKind, createdAt }
    end
    if answerExisting then
      return { 'EXISTING', tonumber(existing), 0, rate, queueKind, createdAt }
    end
    return { 'DUPLICATE', 0 }
  end
end
if soldOut then
  return { 'SOLD_OUT' }
end

-- A new place. Checked before any write, so a refused join writes nothing;
-- ZSCORE keeps the reuse check O(1) in the number of used challenges.
local powBits = tonumber(m[7] or '0')
if powBits > 0 then
  if challengeId == '' then
    return { 'CHALLENGE_REQUIRED' }
  end
  if challengeBits < powBits or challengeExpiresAt <= now or rcall('ZSCORE', powUsedKey, challengeId) then
    return { 'CHALLENGE_FAILED' }
  end
  -- Expired ids can go: an expired challenge is refused above anyway. Each id
  -- is removed once, so this costs O(1) per join on average.
  rcall('ZREMRANGEBYSCORE', powUsedKey, '-inf', now)
  rcall('ZADD', powUsedKey, challengeExpiresAt, challengeId)
end

if existing then
  -- The user's session ended and the admitter has not pruned it yet.
  rcall('ZREM', activeKey, existing)
  rcall('HDEL', sessionsKey, existing)
end

local seq = rcall('HINCRBY', metaKey, 'seq', 1)
local position
if queueKind == 'streams' then
  -- Only the user id: the ticket verifies itself. A keyed join adds its fingerprint.
  if fingerprint == '' then
    rcall('XADD', streamKey, seq .. '-0', 'u', userId)
  else
    rcall('XADD', streamKey, seq .. '-0', 'u', userId, 'k', fingerprint)
  end
  position = seq - head
else
  local score = math.max(now * 1024, lastScore + 1)
  rcall('HSET', metaKey, 'lastScore', score)
  rcall('ZADD', zqueueKey, score, seq)
  rcall('HSET', zwaitKey, seq, fingerprint .. '|' .. userId)
  position = rcall('ZCARD', zqueueKey)
end
rcall('HSET', usersKey, userId, seq)
return { 'OK', seq, position, rate, queueKind, createdAt }
