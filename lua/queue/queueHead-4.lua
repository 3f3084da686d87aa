--[[
  The queue head of an event, as a replica's snapshot needs it: read by each
  replica at most twice a second per event it serves, never per waiting
  user. Reads only.

  Input:
    KEYS[1] meta      event hash
    KEYS[2] stream    Streams backend queue (its length is the number waiting)
    KEYS[3] zqueue    sorted-set backend queue
    KEYS[4] left      sorted set seq, score = leftVersion of its leave

    ARGV[1] the last leftVersion the caller has seen
    ARGV[2] most leaves to return (the rest come with the next call)

  Output:
    { 'OK', queue, createdAtMs, head, seq, waiting, available, held, paused,
      ratePerSecond, observedRate ('' before the first admission),
      leftVersion, nowMs, queueMethod, queueOpensAt, salesStartAt, endsAt,
      pqSealed (0|1), pqBase, pqCount, admissionMode ('auto' | 'manual'),
      member1, version1, member2, version2, ... }
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

local seenLeft, maxLeft = argInt('seenLeftVersion', ARGV[1], 0), argInt('maxLeaves', ARGV[2], 1, 10000)

local m = rcall('HMGET', metaKey, 'queue', 'createdAt', 'head', 'seq', 'available', 'held', 'paused',
  'ratePerSecond', 'observedRate', 'leftVersion', 'queueMethod', 'queueOpensAt', 'salesStartAt', 'endsAt',
  'pqSealed', 'pqBase', 'pqCount', 'pqWaiting', 'admissionMode')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
-- Those in the pre-queue wait too.
local waiting = waitingCount(m[1], streamKey, zqueueKey, m[18])
local leftVersion = tonumber(m[10] or '0')
local reply = { 'OK', m[1], tonumber(m[2]), tonumber(m[3]), tonumber(m[4]), waiting, tonumber(m[5]),
  tonumber(m[6]), tonumber(m[7]), m[8], m[9] or '', leftVersion, nowMs(),
  m[11] or 'fifo', tonumber(m[12] or '0'), tonumber(m[13] or '0'), tonumber(m[14] or '0'),
  m[15] == '1' and 1 or 0, tonumber(m[16] or '0'), tonumber(m[17] or '0'), m[19] == 'manual' and 'manual' or 'auto' }
if leftVersion > seenLeft then
  local leaves = rcall('ZRANGEBYSCORE', leftKey, '(' .. seenLeft, '+inf', 'WITHSCORES', 'LIMIT', 0, maxLeft)
  for _, v in ipairs(leaves) do
    reply[#reply + 1] = v
  end
end
return reply
