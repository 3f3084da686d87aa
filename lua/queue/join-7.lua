--[[
  Joins the waiting queue: dedupe check, next arrival sequence, append to the
  event's queue backend and the ticket record, in one step, so that of any
  number of concurrent joins by one user exactly one succeeds.

  The ticket handed to the client is '<seq>.<secret>'; the secret is stored
  with the entry and checked on every ticket look-up. When the client sent an
  Idempotency-Key, the service derives the secret from it, so a retry of a
  join whose answer was lost carries the stored secret and gets the same
  ticket back (REPLAYED) instead of a DUPLICATE it could never use.

  Input:
    KEYS[1] meta      event hash (queue backend, seq, head, lastScore, rate)
    KEYS[2] users     hash userId -> seq, while the user waits or is active
    KEYS[3] stream    Streams backend: entry id '<seq>-0', fields u (userId), t (secret)
    KEYS[4] zqueue    sorted-set backend: member seq, score = join ms * 1024, strictly increasing
    KEYS[5] zwait     sorted-set backend: hash seq -> '<secret>|<userId>'
    KEYS[6] active    sorted set seq -> session end (ms)
    KEYS[7] sessions  hash seq -> '<secret>|<userId>' of admitted users

    ARGV[1] userId
    ARGV[2] secret (22 characters, base64url)

  Output:
    { 'OK', seq, position, ratePerSecond, queue }
    { 'REPLAYED', seq, position, ratePerSecond, queue }  same user, same secret: the first ticket
    { 'DUPLICATE', position }   position 0 means the user is already admitted
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
    error reply 'INVARIANT ...' when the event hash lacks a queue setting (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, streamKey, zqueueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local zwaitKey, activeKey, sessionsKey = KEYS[5], KEYS[6], KEYS[7]

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/queuePosition"

local userId, secret = argId('userId', ARGV[1]), argId('secret', ARGV[2])

-- The secret stored with a waiting entry or an admitted session, or nil.
local function storedSecret(record)
  if record then
    return string.sub(record, 1, string.find(record, '|', 1, true) - 1)
  end
  return nil
end
local function waitingSecret(queueKind, seq)
  if queueKind == 'streams' then
    local entry = rcall('XRANGE', streamKey, seq .. '-0', seq .. '-0')[1]
    return entry and entry[2][4]
  end
  return storedSecret(rcall('HGET', zwaitKey, seq))
end

local m = rcall('HMGET', metaKey, 'queue', 'head', 'ratePerSecond', 'lastScore')
local queueKind = m[1]
if not queueKind then
  return { 'EVENT_NOT_FOUND' }
end
local head, lastScore = tonumber(m[2]), tonumber(m[4])
-- Checked before any write, so a broken hash cannot leave half a join.
if not head or not tonumber(m[3]) or (queueKind == 'zset' and not lastScore) then
  return redis.error_reply('INVARIANT event hash ' .. metaKey .. ' lacks queue settings')
end
local now = nowMs()

local existing = rcall('HGET', usersKey, userId)
if existing then
  local position = waitingPosition(queueKind, existing, head, zqueueKey, zwaitKey)
  if position then
    if waitingSecret(queueKind, existing) == secret then
      return { 'REPLAYED', tonumber(existing), position, tonumber(m[3]), queueKind }
    end
    return { 'DUPLICATE', position }
  end
  local sessionEnd = rcall('ZSCORE', activeKey, existing)
  if sessionEnd and tonumber(sessionEnd) > now then
    if storedSecret(rcall('HGET', sessionsKey, existing)) == secret then
      return { 'REPLAYED', tonumber(existing), 0, tonumber(m[3]), queueKind }
    end
    return { 'DUPLICATE', 0 }
  end
  -- The user's session ended and the admitter has not pruned it yet.
  rcall('ZREM', activeKey, existing)
  rcall('HDEL', sessionsKey, existing)
end

local seq = rcall('HINCRBY', metaKey, 'seq', 1)
local position
if queueKind == 'streams' then
  rcall('XADD', streamKey, seq .. '-0', 'u', userId, 't', secret)
  position = seq - head
else
  local score = math.max(now * 1024, lastScore + 1)
  rcall('HSET', metaKey, 'lastScore', score)
  rcall('ZADD', zqueueKey, score, seq)
  rcall('HSET', zwaitKey, seq, secret .. '|' .. userId)
  position = rcall('ZCARD', zqueueKey)
end
rcall('HSET', usersKey, userId, seq)
return { 'OK', seq, position, tonumber(m[3]), queueKind }
