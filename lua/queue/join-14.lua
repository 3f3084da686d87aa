--[[
  Joins the waiting queue: status check, dedupe check, next arrival sequence,
  append to the event's queue backend (or its pre-queue) and the ticket
  record, in one step, so that of any number of concurrent joins by one user
  exactly one succeeds.

  The service signs the ticket from the sequence, the event's createdAt and
  the join's nonce (it verifies itself); the nonce is stored at the
  sequence's (or pre-queue number's) offset of the nonce strings
  (includes/nonces), so the place belongs to this join: after Redis lost
  writes, a later join reusing the number stores another nonce. Every reply
  that hands out a place carries its stored nonce, so a replay or a repeated
  join gets the ticket of the first join. When the client
  sent an Idempotency-Key, the service passes a fingerprint of it, stored with
  the entry (and later the session), so a retry of a join whose answer was
  lost gets the same sequence back (REPLAYED) instead of a DUPLICATE it could
  never use. Joins are refused before queueOpensAt (nothing written), once
  the event is sold out (available == 0 and held == 0: nothing can come back
  on sale) and while it is closed (endsAt passed, or queueMethod 'reject').

  Before salesStartAt a join enters the pre-queue (includes/prequeue) under
  its pre-queue number pn, with the sort key the service computed from the
  event's seed; the service learns the seed only when asked (NEED_SORT_KEY).
  From salesStartAt on, the first join seals the pre-queue, so it and every
  later join get a sequence behind all pre-queue entries; once sealed (the
  mark, not the clock: Redis time may step back) nobody enters it again.
  With queueMethod 'passthrough' a join is admitted at once while nobody
  waits, active < maxActive and the token bucket has a whole admission
  (so the rate limit holds as in admit-12.lua), unless admissionMode is
  'manual'; otherwise it waits in line.

  With JOIN_IDENTITY=jwt the user is a verified person, so a repeated join
  (another tab, another device) is answered with that person's existing
  place (EXISTING, or PREQUEUE marked existing) instead of DUPLICATE: the
  place follows the person.

  An event with a proof-of-work challenge (meta powBits > 0) takes a new place
  only with a challenge the service verified (MAC and work); here it must be
  unexpired by Redis time and unused, and it is marked used with the join.
  A refused join writes nothing.

  Input:
    KEYS[1]  meta      event hash (queue backend, seq, head, lastScore, rates, counters, schedule)
    KEYS[2]  users     hash userId -> seq, or 'p<pn>' while in the pre-queue
    KEYS[3]  stream    Streams backend: entry id '<seq>-0', fields u (userId) [, k (key fingerprint)]
    KEYS[4]  zqueue    sorted-set backend: member seq, score = join ms * 1024, strictly increasing
    KEYS[5]  zwait     sorted-set backend: hash seq -> '<fingerprint>|<userId>'
    KEYS[6]  active    sorted set seq -> session end (ms)
    KEYS[7]  sessions  hash seq -> '<fingerprint>|<userId>' of admitted users
    KEYS[8]  left      sorted set of announced leaves (not written here; admit-12 uses it)
    KEYS[9]  prequeue  sorted set '<sortKey>:<pn>', score 0 (the shuffle's order)
    KEYS[10] pqrecs    hash pn -> '<sortKey>|<fingerprint>|<userId>' | '=<seq>'
    KEYS[11] nonces    string: the join nonce of each sequence, 4 bytes at offset 4·seq
    KEYS[12] pnonces   string: the join nonce of each pre-queue number, 4 bytes at offset 4·pn
    KEYS[13] powUsed   sorted set challengeId -> its expiry (ms): challenges already used
    KEYS[14] leftmarks sorted set: every LEFT_MARK_EVERY-th sequence (score) -> the leftVersion when it
                       joined (member); a new replica starts reading leaves there (queueHead)

    ARGV[1] userId
    ARGV[2] Idempotency-Key fingerprint (base64url), or '' for a join without a key
    ARGV[3] sort key: hex HMAC-SHA256(seed, eventId:userId), or '' when the service has no seed yet
    ARGV[4] the createdAt (ms) of the event whose seed made ARGV[3] ('' with no sort key)
    ARGV[5] tickMs: the admitter's tick (ms), for the passthrough token bucket
    ARGV[6] '1': answer a user who already waits, is in the pre-queue or is active with their
            place (EXISTING / PREQUEUE ... 1), not DUPLICATE; else '0'
    ARGV[7] challengeId   of a verified challenge, or '' when the join sent none
    ARGV[8] challengeBits the difficulty it was issued with (0..32; 0 without a challenge)
    ARGV[9] challengeExpiresAtMs (0 without a challenge)
    ARGV[10] nonce: this join's random nonce, 1 .. 2^32 - 1 (stored only if it takes a new place)
    ARGV[11] challengeEpoch the createdAt (ms) of the event the challenge was issued for (0 without one):
            a challenge of an earlier event of this id fails

  Output:
    { 'OK', seq, position, etaRatePerSecond, queue, createdAtMs, nonce, 0 }   position -1: none (queueMethod random)
    { 'REPLAYED', seq, position, etaRatePerSecond, queue, createdAtMs, nonce, pn }  same user, same key: the first
                                sequence; pn > 0: a sealed pre-queue entry's place (nonce: the pre-queue number's)
    { 'PREQUEUE', pn, createdAtMs, salesStartAtMs, existing, nonce }   in the pre-queue (also a replay of one);
                                existing 1: the person's place handed back (ARGV[6])
    { 'EXISTING', seq, position, etaRatePerSecond, queue, createdAtMs, nonce, pn }  the person's place (ARGV[6]);
                                position 0: admitted; pn as for REPLAYED
    { 'ADMITTED', seq, sessionEndMs, queue, createdAtMs, nonce }   passthrough: admitted at once
    { 'DUPLICATE', position }   position 0: already admitted; -1: no position (pre-queue, random)
    { 'NEED_SORT_KEY' }         pre-queue join without a sort key for this event: nothing written
    { 'CHALLENGE_REQUIRED' }    the event asks for a challenge and none came
    { 'CHALLENGE_FAILED' }      expired, already used, issued for an earlier event of this id, or easier than the event now asks
    { 'QUEUE_NOT_OPEN', queueOpensAtMs }
    { 'SOLD_OUT' }
    { 'CLOSED' }
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
    error reply 'INVARIANT ...' when the event hash lacks a queue setting (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, streamKey, zqueueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local zwaitKey, activeKey, sessionsKey = KEYS[5], KEYS[6], KEYS[7]
local prequeueKey, pqrecsKey, noncesKey, pnoncesKey, powUsedKey = KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local leftmarksKey, LEFT_MARK_EVERY = KEYS[14], 1024
-- Most expired challenge ids one join removes: a burst of challenges expires together.
local POW_PRUNE = 100

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/queuePosition"
--- @include "includes/etaRate"
--- @include "includes/eventStatus"
--- @include "includes/prequeue"
--- @include "includes/observeAdmissions"
--- @include "includes/nonces"

local userId = argId('userId', ARGV[1])
local fingerprint = ARGV[2] == '' and '' or argId('fingerprint', ARGV[2])
local sortKey, seedEpoch = ARGV[3] or '', ARGV[4] or ''
if sortKey ~= '' and not string.match(sortKey, '^' .. string.rep('[0-9a-f]', 64) .. '$') then
  argFail('sortKey', sortKey, 'must be 64 lowercase hex digits or empty')
end
local tickMs = argInt('tickMs', ARGV[5] or '100', 1)
local answerExisting = argOneOf('answerExisting', ARGV[6], { '0', '1' }) == '1'
local challengeId = ARGV[7] == '' and '' or argId('challengeId', ARGV[7])
local challengeBits = argInt('challengeBits', ARGV[8], 0, 32)
local challengeExpiresAt = argInt('challengeExpiresAtMs', ARGV[9], 0)
local nonce = argNonce('nonce', ARGV[10])
local challengeEpoch = argInt('challengeEpoch', ARGV[11] or '0', 0)

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

local m = rcall('HMGET', metaKey, 'queue', 'head', 'ratePerSecond', 'observedRate', 'createdAt', 'lastScore', 'powBits', 'pqSealed')
local queueKind = m[1]
if not queueKind then
  return { 'EVENT_NOT_FOUND' }
end
local head, createdAt, lastScore = tonumber(m[2]), tonumber(m[5]), tonumber(m[6])
-- Checked before any write, so a broken hash cannot leave half a join.
if not head or not tonumber(m[3]) or not createdAt or (queueKind == 'zset' and not lastScore) then
  return redis.error_reply('INVARIANT event hash ' .. metaKey .. ' lacks queue settings')
end
-- A string: Redis would truncate a fractional Lua number to an integer.
local rate = tostring(etaRate(m[3], m[4]))
local now = nowMs()
local status, f = eventStatus(metaKey, now)
if status == 'scheduled' then
  return { 'QUEUE_NOT_OPEN', f.queueOpensAt }
end
if status == 'prequeue' and m[8] == '1' then
  -- Sealed already, and Redis time stepped back under salesStartAt: the pre-queue takes nobody more.
  status = f.paused and 'paused' or 'open'
end
local random = f.queueMethod == 'random'

-- Leftovers of the user's earlier place, removed only once this join is
-- sure to go ahead (a refused join writes nothing).
local cleanup = function() end
local existing = rcall('HGET', usersKey, userId)
if existing and string.sub(existing, 1, 1) == 'p' then
  -- In the pre-queue: no position before the seal, its rank's place after.
  local pn = string.sub(existing, 2)
  local record = rcall('HGET', pqrecsKey, pn)
  local key, stored = nil, nil
  if record then key, stored = splitPrequeueRecord(record) end
  if key then
    local base, _, taken = sealPrequeue(metaKey, prequeueKey, now)
    local seq = base and prequeueSeq(prequeueKey, key, pn, base, taken)
    local replay = fingerprint ~= '' and stored == fingerprint
    local pnNonce = readNonce(pnoncesKey, pn)
    if not seq then
      if replay then return { 'PREQUEUE', tonumber(pn), createdAt, f.salesStartAt, 0, pnNonce } end
      if answerExisting then return { 'PREQUEUE', tonumber(pn), createdAt, f.salesStartAt, 1, pnNonce } end
      return { 'DUPLICATE', -1 }
    end
    local position = random and -1 or seq - tonumber(rcall('HGET', metaKey, 'head'))
    if replay then return { 'REPLAYED', seq, position, rate, queueKind, createdAt, pnNonce, tonumber(pn) } end
    if answerExisting then return { 'EXISTING', seq, position, rate, queueKind, createdAt, pnNonce, tonumber(pn) } end
    return { 'DUPLICATE', position }
  end
  cleanup = function() rcall('HDEL', usersKey, userId) end
elseif existing then
  local position = waitingPosition(queueKind, existing, head, zqueueKey, zwaitKey)
  -- A random draw takes entries from the middle: the entry must still be there.
  if position and queueKind == 'streams' and not waitingFingerprint(queueKind, existing) then
    position = nil
  end
  if position then
    if random then position = -1 end
    if fingerprint ~= '' and waitingFingerprint(queueKind, existing) == fingerprint then
      return { 'REPLAYED', tonumber(existing), position, rate, queueKind, createdAt, readNonce(noncesKey, existing), 0 }
    end
    if answerExisting then
      return { 'EXISTING', tonumber(existing), position, rate, queueKind, createdAt, readNonce(noncesKey, existing), 0 }
    end
    return { 'DUPLICATE', position }
  end
  local sessionEnd = rcall('ZSCORE', activeKey, existing)
  if sessionEnd and tonumber(sessionEnd) > now then
    if fingerprint ~= '' and storedFingerprint(rcall('HGET', sessionsKey, existing)) == fingerprint then
      return { 'REPLAYED', tonumber(existing), 0, rate, queueKind, createdAt, readNonce(noncesKey, existing), 0 }
    end
    if answerExisting then
      return { 'EXISTING', tonumber(existing), 0, rate, queueKind, createdAt, readNonce(noncesKey, existing), 0 }
    end
    return { 'DUPLICATE', 0 }
  end
  -- The user's session ended and the admitter has not pruned it yet.
  cleanup = function()
    rcall('ZREM', activeKey, existing)
    rcall('HDEL', sessionsKey, existing)
  end
end
-- A replay of a sequence may still come after the sale ended (it is the same
-- join), a new place may not.
if status == 'soldOut' then
  return { 'SOLD_OUT' }
end
if status == 'closed' then
  return { 'CLOSED' }
end

if status == 'prequeue' and (sortKey == '' or tonumber(seedEpoch) ~= createdAt) then
  return { 'NEED_SORT_KEY' }
end

-- A new place. Checked before any write, so a refused join writes nothing;
-- ZSCORE keeps the reuse check O(1) in the number of used challenges.
local powBits = tonumber(m[7] or '0')
if powBits > 0 then
  if challengeId == '' then
    return { 'CHALLENGE_REQUIRED' }
  end
  if challengeBits < powBits or challengeExpiresAt <= now or challengeEpoch ~= createdAt
    or rcall('ZSCORE', powUsedKey, challengeId) then
    return { 'CHALLENGE_FAILED' }
  end
  -- Expired ids can go: an expired challenge is refused above anyway. At
  -- most POW_PRUNE per join (the set is ordered by expiry, so they are its
  -- first ranks): a burst of challenges expiring together is removed over
  -- the next joins, never in one long call.
  local expired = rcall('ZCOUNT', powUsedKey, '-inf', now)
  if expired > 0 then
    rcall('ZREMRANGEBYRANK', powUsedKey, 0, math.min(expired, POW_PRUNE) - 1)
  end
  rcall('ZADD', powUsedKey, challengeExpiresAt, challengeId)
end

if status == 'prequeue' then
  cleanup()
  local pn = rcall('HINCRBY', metaKey, 'pseq', 1)
  rcall('HINCRBY', metaKey, 'pqWaiting', 1)
  rcall('ZADD', prequeueKey, 0, sortKey .. ':' .. pn)
  rcall('HSET', pqrecsKey, pn, sortKey .. '|' .. fingerprint .. '|' .. userId)
  rcall('HSET', usersKey, userId, 'p' .. pn)
  writeNonce(pnoncesKey, pn, nonce)
  return { 'PREQUEUE', pn, createdAt, f.salesStartAt, 0, nonce }
end
cleanup()
local base, count, taken = sealPrequeue(metaKey, prequeueKey, now)

-- A manual event (admissionMode) admits nobody by itself, passthrough included.
if f.queueMethod == 'passthrough' and status == 'open' and rcall('HGET', metaKey, 'admissionMode') ~= 'manual' then
  local p = rcall('HMGET', metaKey, 'ratePerSecond', 'maxActive', 'sessionTtlSeconds', 'tokens', 'tokensAt',
    'admWin', 'admHist', 'admFirst')
  local bucketRate = tonumber(p[1])
  local cap = math.floor(math.max(1, bucketRate * tickMs / 1000)) + 0.999
  local tokens = math.min(cap, tonumber(p[4]) + math.max(0, now - tonumber(p[5])) * bucketRate / 1000)
  local nobodyWaits = (not base or taken >= count)
    and (queueKind == 'streams' and rcall('XLEN', streamKey) or rcall('ZCARD', zqueueKey)) == 0
  if nobodyWaits and tokens >= 1 and rcall('ZCARD', activeKey) < tonumber(p[2]) then
    local seq = rcall('HINCRBY', metaKey, 'seq', 1)
    local sessionEnd = now + tonumber(p[3]) * 1000
    rcall('HSET', sessionsKey, seq, fingerprint .. '|' .. userId)
    rcall('ZADD', activeKey, sessionEnd, seq)
    rcall('HSET', usersKey, userId, seq)
    -- Nobody waits, so everyone up to seq had their turn.
    rcall('HSET', metaKey, 'tokens', tokens - 1, 'tokensAt', now, 'head', seq)
    -- The replicas' probe prunes sessions until the latest end (src/event/event-activity.ts).
    if sessionEnd > tonumber(rcall('HGET', metaKey, 'sessionsUntil') or '0') then
      rcall('HSET', metaKey, 'sessionsUntil', sessionEnd)
    end
    observeAdmissions(metaKey, 1, now, { admWin = p[6], admHist = p[7], admFirst = p[8] })
    writeNonce(noncesKey, seq, nonce)
    return { 'ADMITTED', seq, sessionEnd, queueKind, createdAt, nonce }
  end
end

local seq = rcall('HINCRBY', metaKey, 'seq', 1)
if seq % LEFT_MARK_EVERY == 0 then
  -- Every leave announced so far concerns a sequence below this one.
  rcall('ZADD', leftmarksKey, seq, rcall('HGET', metaKey, 'leftVersion') or '0')
end
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
  -- Pre-queue entries still waiting come first.
  position = rcall('ZCARD', zqueueKey) + (base and (count - taken) or 0)
end
if random then position = -1 end
rcall('HSET', usersKey, userId, seq)
writeNonce(noncesKey, seq, nonce)
return { 'OK', seq, position, rate, queueKind, createdAt, nonce, 0 }
