--[[
  Status or leave of a pre-queue ticket: a 'p' ticket, or an 's' ticket
  handed out as its replacement after the seal (which carries the same
  pre-queue number pn and nonce). The service calls it only when its
  snapshot cannot answer: a 'p' ticket's first read after salesStartAt (the
  one look-up at the change: the answer carries the ticket's post-shuffle
  sequence, which the service hands out as a replacement ticket), and
  leaves. Reaching salesStartAt (Redis time), it seals the pre-queue first
  (includes/prequeue). The ticket's nonce must be the one its join stored
  for pn (includes/nonces): after Redis lost writes, a later join reusing pn
  has another, and the lost ticket is not found.

  Input:
    KEYS[1] meta      event hash (createdAt, head, salesStartAt, pq*)
    KEYS[2] users     hash userId -> seq | 'p<pn>'
    KEYS[3] left      sorted set of announced leaves, score = leftVersion
    KEYS[4] prequeue  sorted set '<sortKey>:<pn>', score 0
    KEYS[5] pqrecs    hash pn -> '<sortKey>|<fingerprint>|<userId>' | '=<seq>'
    KEYS[6] pnonces   string: each pre-queue number's join nonce (4 bytes at offset 4·pn)

    ARGV[1] op        'status' | 'leave'
    ARGV[2] pn        the pre-queue number (the ticket's MAC already verified)
    ARGV[3] epoch     the event's createdAt (ms) the ticket was signed for
    ARGV[4] nonce     the ticket's join nonce

  Output:
    { 'WAITING', seq }     status: the entry's sequence after the shuffle
    { 'ADMITTED', seq }    the sequence of its session once admitted (status and
                           leave: the service then reads or ends that session)
    { 'PREQUEUE', salesStartAtMs }   status before salesStartAt
    { 'OK' }               left: the record is gone; after the seal the member
                           stays as a placeholder and the leave is announced
                           ('p<pn>' before the seal, the sequence after)
    { 'TICKET_NOT_FOUND' } unknown, left, another join's nonce, or a ticket of an earlier event of that id
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, leftKey, prequeueKey, pqrecsKey, pnoncesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local LEFT_KEEP = 100000

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/prequeue"
--- @include "includes/nonces"

local op = argOneOf('op', ARGV[1], { 'status', 'leave' })
local pn = ARGV[2]
argInt('pn', pn, 1)
argInt('epoch', ARGV[3], 0)
local epoch = ARGV[3]
local nonce = argNonce('nonce', ARGV[4])

local m = rcall('HMGET', metaKey, 'createdAt', 'salesStartAt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
if m[1] ~= epoch or readNonce(pnoncesKey, pn) ~= nonce then
  return { 'TICKET_NOT_FOUND' }
end
local base, _, taken = sealPrequeue(metaKey, prequeueKey, nowMs())

local record = rcall('HGET', pqrecsKey, pn)
if not record then
  return { 'TICKET_NOT_FOUND' }
end
if string.sub(record, 1, 1) == '=' then
  return { 'ADMITTED', tonumber(string.sub(record, 2)) }
end
local sortKey, _, userId = splitPrequeueRecord(record)
local seq = base and prequeueSeq(prequeueKey, sortKey, pn, base, taken)

if op == 'status' then
  if not seq then
    return { 'PREQUEUE', tonumber(m[2]) }
  end
  return { 'WAITING', seq }
end

rcall('HDEL', pqrecsKey, pn)
rcall('HINCRBY', metaKey, 'pqWaiting', -1)
if rcall('HGET', usersKey, userId) == 'p' .. pn then
  rcall('HDEL', usersKey, userId)
end
if not seq then
  rcall('ZREM', prequeueKey, sortKey .. ':' .. pn)
end
-- Replicas answer pre-queue and waiting tickets from their snapshots: tell them.
local version = rcall('HINCRBY', metaKey, 'leftVersion', 1)
rcall('ZADD', leftKey, version, seq or ('p' .. pn))
if version > LEFT_KEEP then
  rcall('ZREMRANGEBYSCORE', leftKey, '-inf', version - LEFT_KEEP)
end
return { 'OK' }
