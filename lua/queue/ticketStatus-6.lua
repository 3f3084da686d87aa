--[[
  Looks a ticket up: still waiting (with its place) or admitted (with the
  session's end). Reads only.

  Input:
    KEYS[1] meta      event hash
    KEYS[2] stream    Streams backend queue
    KEYS[3] zqueue    sorted-set backend queue
    KEYS[4] zwait     sorted-set backend: hash seq -> '<secret>|<userId>'
    KEYS[5] active    sorted set seq -> session end (ms)
    KEYS[6] sessions  hash seq -> '<secret>|<userId>'

    ARGV[1] seq       the ticket's sequence part
    ARGV[2] secret    the ticket's secret part

  Output:
    { 'WAITING', position, ratePerSecond }
    { 'ADMITTED', userId, sessionEndMs }
    { 'TICKET_NOT_FOUND' }
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local k = { meta = KEYS[1], stream = KEYS[2], zqueue = KEYS[3], zwait = KEYS[4],
  active = KEYS[5], sessions = KEYS[6] }

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/findTicket"

local seq, secret = argId('seq', ARGV[1]), argId('secret', ARGV[2])
argInt('seq', seq, 1)

local m = rcall('HMGET', k.meta, 'queue', 'head', 'ratePerSecond')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local state, value, userId = findTicket(m[1], seq, secret, tonumber(m[2]), k, nowMs())
if state == 'waiting' then
  return { 'WAITING', value, tonumber(m[3]) }
elseif state == 'active' then
  return { 'ADMITTED', userId, value }
end
return { 'TICKET_NOT_FOUND' }
