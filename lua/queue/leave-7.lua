--[[
  Leaves the queue, or ends an admitted session; either way the user may
  join again. Seats the user holds stay held until their own expiry.

  Input:
    KEYS[1] meta      event hash
    KEYS[2] users     hash userId -> seq
    KEYS[3] stream    Streams backend queue
    KEYS[4] zqueue    sorted-set backend queue
    KEYS[5] zwait     sorted-set backend: hash seq -> '<secret>|<userId>'
    KEYS[6] active    sorted set seq -> session end (ms)
    KEYS[7] sessions  hash seq -> '<secret>|<userId>'

    ARGV[1] seq       the ticket's sequence part
    ARGV[2] secret    the ticket's secret part

  Output:
    { 'OK', 'waiting' | 'active' }   what the ticket was
    { 'TICKET_NOT_FOUND' }
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local k = { meta = KEYS[1], users = KEYS[2], stream = KEYS[3], zqueue = KEYS[4], zwait = KEYS[5],
  active = KEYS[6], sessions = KEYS[7] }

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/findTicket"

local seq, secret = argId('seq', ARGV[1]), argId('secret', ARGV[2])
argInt('seq', seq, 1)

local m = rcall('HMGET', k.meta, 'queue', 'head')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local state, _, userId = findTicket(m[1], seq, secret, tonumber(m[2]), k, nowMs())
if not state then
  return { 'TICKET_NOT_FOUND' }
end
if state == 'waiting' then
  if m[1] == 'streams' then
    rcall('XDEL', k.stream, seq .. '-0')
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
