--[[
  The queue head of an event, as a replica's snapshot needs it: read by each
  replica at most twice a second per event it serves, never per waiting
  user. Reads only.

  It also hands the replica the join nonces it has not read yet
  (includes/nonces), so the replica checks a waiting ticket's nonce in
  memory: the sequences' from ARGV[4] (a new replica starts at head + 1,
  near the queue head, not at 1) and the pre-queue numbers' from ARGV[6],
  at most ARGV[7] of each per call. With each it returns the 4 bytes at the
  replica's check point (the last nonce it read), so the replica sees that
  Redis lost writes it had read (they differ now, or are gone) and reads
  again. The reply holds raw bytes: the caller reads it as Buffers.

  Input:
    KEYS[1] meta      event hash
    KEYS[2] stream    Streams backend queue (its length is the number waiting)
    KEYS[3] zqueue    sorted-set backend queue
    KEYS[4] left      sorted set seq, score = leftVersion of its leave
    KEYS[5] nonces    string: join nonces by sequence (4 bytes at offset 4·seq)
    KEYS[6] pnonces   string: join nonces by pre-queue number
    KEYS[7] leftmarks sorted set: sequence -> the leftVersion when it joined (join-14.lua)

    ARGV[1] the last leftVersion the caller has seen; 0 (a new replica): the leaves start
            at the mark of the last sequence at or below head + 1, near the queue head, not
            at the first leave: every leave announced before that sequence joined concerns
            a sequence that had its turn
    ARGV[2] most leaves to return (the rest come with the next call)
    ARGV[3] nonce check point: a sequence whose nonce the caller read (0: none)
    ARGV[4] the first sequence whose nonce the caller wants (0: from head + 1)
    ARGV[5] pre-queue check point (0: none)
    ARGV[6] the first pre-queue number whose nonce the caller wants (>= 1)
    ARGV[7] most nonces of each kind to return

  Output:
    { 'OK', queue, createdAtMs, head, seq, waiting, available, held, paused,
      ratePerSecond, observedRate ('' before the first admission),
      leftVersion, nowMs, queueMethod, queueOpensAt, salesStartAt, endsAt,
      pqSealed (0|1), pqBase, pqCount, admissionMode ('auto' | 'manual'),
      nonceFrom, nonceCheck, nonces, pnonceFrom, pnonceCheck, pnonces,
      member1, version1, member2, version2, ... }
      nonceFrom: the sequence the bytes `nonces` start at (4 per sequence, up to
      seq at most); nonceCheck: the 4 bytes at the check point ('' when none
      or gone); the same for pre-queue numbers (up to pseq)
      the leaves after ARGV[1], oldest first: member '<seq>' (left), 'a<seq>'
      (taken by a random draw) or 'p<pn>' (left the pre-queue before the seal)
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local metaKey, streamKey, zqueueKey, leftKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/waitingCount"

-- Nonces from..last (at most max), and the 4 bytes at `check` (0: none).
local function newNonces(key, check, from, last, max)
  local checkBytes = check > 0 and rcall('GETRANGE', key, 4 * check, 4 * check + 3) or ''
  local upto = math.min(last, from + max - 1)
  local bytes = upto >= from and rcall('GETRANGE', key, 4 * from, 4 * upto + 3) or ''
  return checkBytes, bytes
end

local seenLeft, maxLeft = argInt('seenLeftVersion', ARGV[1], 0), argInt('maxLeaves', ARGV[2], 1, 10000)
local nonceCheck, nonceFrom = argInt('nonceCheck', ARGV[3], 0), argInt('nonceFrom', ARGV[4], 0)
local pnonceCheck, pnonceFrom = argInt('pnonceCheck', ARGV[5], 0), argInt('pnonceFrom', ARGV[6], 1)
local maxNonces = argInt('maxNonces', ARGV[7], 1, 65536)

local m = rcall('HMGET', metaKey, 'queue', 'createdAt', 'head', 'seq', 'available', 'held', 'paused',
  'ratePerSecond', 'observedRate', 'leftVersion', 'queueMethod', 'queueOpensAt', 'salesStartAt', 'endsAt',
  'pqSealed', 'pqBase', 'pqCount', 'pqWaiting', 'pseq', 'admissionMode')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
-- Those in the pre-queue wait too.
local waiting = waitingCount(m[1], streamKey, zqueueKey, m[18])
local leftVersion = tonumber(m[10] or '0')
local reply = { 'OK', m[1], tonumber(m[2]), tonumber(m[3]), tonumber(m[4]), waiting, tonumber(m[5]),
  tonumber(m[6]), tonumber(m[7]), m[8], m[9] or '', leftVersion, nowMs(),
  m[11] or 'fifo', tonumber(m[12] or '0'), tonumber(m[13] or '0'), tonumber(m[14] or '0'),
  m[15] == '1' and 1 or 0, tonumber(m[16] or '0'), tonumber(m[17] or '0'), m[20] == 'manual' and 'manual' or 'auto' }
if nonceFrom == 0 then
  nonceFrom = tonumber(m[3]) + 1
end
local check, bytes = newNonces(KEYS[5], nonceCheck, nonceFrom, tonumber(m[4]), maxNonces)
local pcheck, pbytes = newNonces(KEYS[6], pnonceCheck, pnonceFrom, tonumber(m[19] or '0'), maxNonces)
reply[#reply + 1] = nonceFrom
reply[#reply + 1] = check
reply[#reply + 1] = bytes
reply[#reply + 1] = pnonceFrom
reply[#reply + 1] = pcheck
reply[#reply + 1] = pbytes
if seenLeft == 0 and leftVersion > 0 then
  local mark = rcall('ZREVRANGEBYSCORE', KEYS[7], tonumber(m[3]) + 1, '-inf', 'LIMIT', 0, 1)[1]
  if mark then
    seenLeft = tonumber(mark)
  end
end
if leftVersion > seenLeft then
  local leaves = rcall('ZRANGEBYSCORE', leftKey, '(' .. seenLeft, '+inf', 'WITHSCORES', 'LIMIT', 0, maxLeft)
  for _, v in ipairs(leaves) do
    reply[#reply + 1] = v
  end
end
return reply
