--[[
  Leaves the queue, or ends an admitted session; either way the user may
  join again. Seats the user holds stay held until their own expiry.

  Replicas answer waiting Streams tickets from a snapshot, without Redis, so
  a Streams leave is also announced: 'leftVersion' counts leaves and the
  sorted set `left` maps each recent leave (score = its leftVersion) to its
  sequence. A replica reads only the leaves after the last version it saw,
  so its snapshot refuses a left ticket within one refresh. `left` keeps the
  last 100,000 leaves (a replica further behind than that misses the oldest:
  their tickets read as waiting until their turn comes, then 404).

  Input:
    KEYS[1] meta      event hash
    KEYS[2] users     hash userId -> seq
    KEYS[3] stream    Streams backend queue
    KEYS[4] zqueue    sorted-set backend queue
    KEYS[5] zwait     sorted-set backend: hash seq -> '<fingerprint>|<userId>'
    KEYS[6] active    sorted set seq -> session end (ms)
    KEYS[7] sessions  hash seq -> '<fingerprint>|<userId>'
    KEYS[8] left      sorted set seq, score = leftVersion of its leave (Streams backend)
    KEYS[9] nonces    string: each sequence's join nonce (4 bytes at offset 4·seq)

    ARGV[1] seq       the ticket's sequence (its MAC already verified)
    ARGV[2] epoch     the event's createdAt (ms) the ticket was signed for
    ARGV[3] nonce     the ticket's join nonce: another join's sequence is not found

  Output:
    { 'OK', 'waiting' | 'active' }   what the ticket was
    { 'TICKET_NOT_FOUND' }
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local k = { meta = KEYS[1], users = KEYS[2], stream = KEYS[3], zqueue = KEYS[4], zwait = KEYS[5],
  active = KEYS[6], sessions = KEYS[7], left = KEYS[8], nonces = KEYS[9] }
local LEFT_KEEP = 100000

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/findTicket"
--- @include "includes/nonces"

local seq, epoch = argId('seq', ARGV[1]), argId('epoch', ARGV[2])
argInt('seq', seq, 1)
argInt('epoch', epoch, 0)
local nonce = argNonce('nonce', ARGV[3])

local m = rcall('HMGET', k.meta, 'queue', 'head', 'createdAt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
if m[3] ~= epoch or readNonce(k.nonces, seq) ~= nonce then
  return { 'TICKET_NOT_FOUND' }
end
local state, _, userId = findTicket(m[1], seq, tonumber(m[2]), k, nowMs())
if not state then
  return { 'TICKET_NOT_FOUND' }
end
if state == 'waiting' then
  if m[1] == 'streams' then
    rcall('XDEL', k.stream, seq .. '-0')
    local version = rcall('HINCRBY', k.meta, 'leftVersion', 1)
    rcall('ZADD', k.left, version, seq)
    if version > LEFT_KEEP then
      rcall('ZREMRANGEBYSCORE', k.left, '-inf', version - LEFT_KEEP)
    end
  else
    rcall('ZREM', k.zqueue, seq)
    rcall('HDEL', k.zwait, seq)
  end
else
  rcall('ZREM', k.active, seq)
  rcall('HDEL', k.sessions, seq)
end
if rcall('HGET', k.users, userId) == seq then
  rcall('HDEL', k.users, userId)
end
return { 'OK', state }
