--[[
  Status or leave of a ticket that belongs to the pre-queue: a 'p' ticket
  (pre-queue number pn), or an 's' ticket whose sequence is one the seal
  reserved for the pre-queue (pqBase < seq <= pqBase + pqCount) and has not
  had its turn yet. The service calls it only when its snapshot cannot
  answer: a 'p' ticket's first read after salesStartAt (the one look-up at
  the change: the answer carries the ticket's post-shuffle sequence, which
  the service hands out as a replacement ticket), and leaves. Reaching
  salesStartAt (Redis time), it seals the pre-queue first (includes/prequeue).

  Input:
    KEYS[1] meta      event hash (createdAt, head, salesStartAt, pq*)
    KEYS[2] users     hash userId -> seq | 'p<pn>'
    KEYS[3] left      sorted set of announced leaves, score = leftVersion
    KEYS[4] prequeue  sorted set '<sortKey>:<pn>', score 0
    KEYS[5] pqrecs    hash pn -> '<sortKey>|<fingerprint>|<userId>' | '=<seq>'

    ARGV[1] op        'status' | 'leave'
    ARGV[2] kind      'p' (ARGV[3] is pn) | 's' (ARGV[3] is seq)
    ARGV[3] number    pn or seq (the ticket's MAC already verified)
    ARGV[4] epoch     the event's createdAt (ms) the ticket was signed for

  Output:
    { 'WAITING', seq }     status: the entry's sequence after the shuffle
    { 'ADMITTED', seq }    the sequence of its session once admitted (status and
                           leave: the service then reads or ends that session)
    { 'PREQUEUE', salesStartAtMs }   status before salesStartAt
    { 'OK' }               left: the record is gone; after the seal the member
                           stays as a placeholder and the leave is announced
                           ('p<pn>' before the seal, the sequence after)
    { 'TICKET_NOT_FOUND' } unknown, left, or a ticket of an earlier event of that id
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, leftKey, prequeueKey, pqrecsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local LEFT_KEEP = 100000

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/prequeue"

local op, kind = argOneOf('op', ARGV[1], { 'status', 'leave' }), argOneOf('kind', ARGV[2], { 'p', 's' })
local number = ARGV[3]
argInt('number', number, 1)
argInt('epoch', ARGV[4], 0)
local epoch = ARGV[4]

local m = rcall('HMGET', metaKey, 'createdAt', 'salesStartAt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
if m[1] ~= epoch then
  return { 'TICKET_NOT_FOUND' }
end
local base, count, taken = sealPrequeue(metaKey, prequeueKey, nowMs())

-- Find the entry: pn, its record, and its sort key (nil once admitted).
local pn, record
if kind == 'p' then
  pn = number
  record = rcall('HGET', pqrecsKey, pn)
else
  local seq = tonumber(number)
  if not base or seq <= base + taken or seq > base + count then
    return { 'TICKET_NOT_FOUND' }
  end
  local rank = seq - base - taken - 1
  local member = rcall('ZRANGE', prequeueKey, rank, rank)[1]
  if not member then
    return { 'TICKET_NOT_FOUND' }
  end
  pn = memberPn(member)
  record = rcall('HGET', pqrecsKey, pn)
end
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
