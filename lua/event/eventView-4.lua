--[[
  Reads an event's configuration, counters and queue sizes in one snapshot.

  Input:
    KEYS[1] meta      event hash
    KEYS[2] stream    waiting queue (Streams backend)
    KEYS[3] zqueue    waiting queue (sorted-set backend)
    KEYS[4] active    sorted set of admitted sessions, score = session end (ms)

  Output:
    { 'OK', queue, capacity, available, held, sold, waiting, active,
      holdTtlSeconds, maxSeatsPerUser, ratePerSecond, maxActive,
      sessionTtlSeconds, paused, observedRate ('' before the first admission),
      queueMethod, queueOpensAt, salesStartAt, endsAt (ms, 0: none), commitment ('' without
      a pre-queue), seed ('' until salesStartAt: never shown before), nowMs,
      powBits (join challenge difficulty, 0: none),
      redirectOrigins (JSON list of origins, '[]' for none), admissionMode ('auto' | 'manual'),
      currency, levelCount, name1, price1, available1, held1, sold1, name2, ... }
    currency '' and levelCount 0 for events made without a layout
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local metaKey, streamKey, zqueueKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

--- @include "includes/now"
--- @include "includes/waitingCount"

local m = rcall('HMGET', metaKey, 'queue', 'capacity', 'available', 'held', 'sold',
  'holdTtlSeconds', 'maxSeatsPerUser', 'ratePerSecond', 'maxActive', 'sessionTtlSeconds', 'paused', 'observedRate',
  'queueMethod', 'queueOpensAt', 'salesStartAt', 'endsAt', 'commitment', 'seed', 'pqWaiting', 'powBits',
  'redirectOrigins', 'admissionMode')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
-- Those in the pre-queue wait too.
local waiting = waitingCount(m[1], streamKey, zqueueKey, m[19])
local now = nowMs()
local active = rcall('ZCOUNT', activeKey, '(' .. now, '+inf')
local salesStartAt = tonumber(m[15] or '0')
-- The seed stays secret until the shuffle is fixed (salesStartAt, Redis time).
local seed = ''
if salesStartAt > 0 and now >= salesStartAt then
  seed = m[18] or ''
end
local out = { 'OK', m[1], tonumber(m[2]), tonumber(m[3]), tonumber(m[4]), tonumber(m[5]), waiting, active,
  tonumber(m[6]), tonumber(m[7]), tonumber(m[8]), tonumber(m[9]), tonumber(m[10]), tonumber(m[11]), m[12] or '',
  m[13] or 'fifo', tonumber(m[14] or '0'), salesStartAt, tonumber(m[16] or '0'), m[17] or '', seed, now,
  tonumber(m[20] or '0'), m[21] or '[]', m[22] or 'auto' }
-- Price levels of a layout (see includes/layout): definition and counters.
local layout = rcall('HMGET', metaKey, 'currency', 'levels')
local levels = tonumber(layout[2] or 0)
out[#out + 1] = layout[1] or ''
out[#out + 1] = levels
for level = 1, levels do
  local l = rcall('HMGET', metaKey, 'level:' .. level, 'a:' .. level, 'h:' .. level, 's:' .. level)
  local name, price = string.match(l[1], '^(.*)|(%d+)$')
  for _, v in ipairs({ name, tonumber(price), tonumber(l[2]), tonumber(l[3]), tonumber(l[4]) }) do
    out[#out + 1] = v
  end
end
return out
