--[[
  Looks a ticket up: still waiting (with its place) or admitted (with the
  session's end). Reads only. The service calls it only when its snapshot
  cannot answer: on the sorted-set backend, and on the Streams backend once
  the ticket's turn came (seq <= head). The ticket's nonce must be the one
  its join stored (includes/nonces): a ticket of a join Redis lost is not
  found, whoever holds that sequence now.

  Input:
    KEYS[1] meta      event hash
    KEYS[2] stream    Streams backend queue
    KEYS[3] zqueue    sorted-set backend queue
    KEYS[4] zwait     sorted-set backend: hash seq -> '<fingerprint>|<userId>'
    KEYS[5] active    sorted set seq -> session end (ms)
    KEYS[6] sessions  hash seq -> '<fingerprint>|<userId>'
    KEYS[7] nonces    string: each sequence's join nonce (4 bytes at offset 4·seq)

    ARGV[1] seq       the ticket's sequence (its MAC already verified)
    ARGV[2] epoch     the event's createdAt (ms) the ticket was signed for
    ARGV[3] nonce     the ticket's join nonce

  Output:
    { 'WAITING', position, etaRatePerSecond }
    { 'ADMITTED', userId, sessionEndMs }
    { 'TICKET_NOT_FOUND' }   unknown, left, session over, another join's nonce, or a ticket of an
                             earlier event of that id
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local k = { meta = KEYS[1], stream = KEYS[2], zqueue = KEYS[3], zwait = KEYS[4],
  active = KEYS[5], sessions = KEYS[6], nonces = KEYS[7] }

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/findTicket"
--- @include "includes/etaRate"
--- @include "includes/nonces"

local seq, epoch = argId('seq', ARGV[1]), argId('epoch', ARGV[2])
argInt('seq', seq, 1)
argInt('epoch', epoch, 0)
local nonce = argNonce('nonce', ARGV[3])

local m = rcall('HMGET', k.meta, 'queue', 'head', 'ratePerSecond', 'observedRate', 'createdAt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
if m[5] ~= epoch or readNonce(k.nonces, seq) ~= nonce then
  return { 'TICKET_NOT_FOUND' }
end
local state, value, userId = findTicket(m[1], seq, tonumber(m[2]), k, nowMs())
if state == 'waiting' then
  return { 'WAITING', value, tostring(etaRate(m[3], m[4])) }
elseif state == 'active' then
  return { 'ADMITTED', userId, value }
end
return { 'TICKET_NOT_FOUND' }
