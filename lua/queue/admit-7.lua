--[[
  One admission tick for one event. Every replica calls it every tick while
  someone waits (once a second while only sessions are live); the token
  bucket lives in the event hash, so however many replicas call it, the
  event admits at most ratePerSecond per second plus one tick's burst.

  1. ends admitted sessions whose time is over (bounded batch);
  2. refills the bucket: tokens grow at ratePerSecond, capped at one tick's
     worth of whole admissions (ratePerSecond * tickMs / 1000, at least 1)
     plus the unused fraction of a token;
  3. admits n = min(tokens, maxActive - active, maxBatch) users in join order,
     skipping those who left. Cost: O(n + log queue), never O(queue);
  4. records the admissions for the observed rate (includes/observeAdmissions);
  5. leaves in the event hash what the replicas' once-a-second look at each
     event reads (src/event/event-activity.ts): 'drained', the sequence up to
     which the queue was found empty (a join raises seq past it), and
     'sessionsUntil', the latest session end. An event with neither someone
     waiting nor a live session is then not ticked at all.

  Nobody is admitted who could buy nothing: with no seat available the tick
  admits no one (SOLD_OUT when no hold is live either, since nothing can come
  back on sale; otherwise it waits for held seats to come back).
  'head' is the last sequence admitted (both backends: the sorted set pops in
  sequence order), so 'seq <= head' tells a replica a ticket's turn came.

  Input:
    KEYS[1] meta      event hash (ratePerSecond, maxActive, sessionTtlSeconds,
                      paused, endsAt, seq, head, tokens, tokensAt, counters)
    KEYS[2] users     hash userId -> seq
    KEYS[3] stream    Streams backend queue
    KEYS[4] zqueue    sorted-set backend queue
    KEYS[5] zwait     sorted-set backend: hash seq -> '<fingerprint>|<userId>'
    KEYS[6] active    sorted set seq -> session end (ms)
    KEYS[7] sessions  hash seq -> '<fingerprint>|<userId>' (the join's Idempotency-Key fingerprint or '')

    ARGV[1] tickMs    the caller's tick period in ms (sets the burst cap, >= 1)
    ARGV[2] maxBatch  most users admitted by one call (1..5000)

  Output:
    { 'OK', admitted, endedSessions }
    { 'PAUSED', endedSessions }
    { 'CLOSED', endedSessions }     past the event's endsAt: nobody is admitted
    { 'SOLD_OUT', endedSessions }   available == 0 and held == 0: nobody is admitted any more
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
    error reply 'INVARIANT ...' when the event hash lacks a setting (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, streamKey, zqueueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local zwaitKey, activeKey, sessionsKey = KEYS[5], KEYS[6], KEYS[7]

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/pruneSessions"
--- @include "includes/observeAdmissions"
--- @include "includes/eventStatus"

-- maxBatch is bounded by Lua's unpack limit (the sorted-set path removes a batch in one call).
local tickMs, maxBatch = argInt('tickMs', ARGV[1], 1), argInt('maxBatch', ARGV[2], 1, 5000)

local m = rcall('HMGET', metaKey, 'queue', 'ratePerSecond', 'maxActive', 'sessionTtlSeconds',
  'seq', 'head', 'tokens', 'tokensAt', 'drained', 'sessionsUntil', 'available', 'admWin', 'admHist', 'admFirst')
local queueKind = m[1]
if not queueKind then
  return { 'EVENT_NOT_FOUND' }
end
local rate, maxActive, sessionTtl = tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
local head, tokens, tokensAt = tonumber(m[6]), tonumber(m[7]), tonumber(m[8])
if not (rate and maxActive and sessionTtl and head and tokens and tokensAt) then
  return redis.error_reply('INVARIANT event hash ' .. metaKey .. ' lacks admission settings')
end
local sessionTtlMs = sessionTtl * 1000

local now = nowMs()
local ended = pruneSessions(activeKey, sessionsKey, usersKey, now, 1000)

-- While paused, closed or sold out nothing is written: on resume the refill
-- is capped at the burst anyway, so a paused event costs no writes.
local status = eventStatus(metaKey, now)
if status == 'paused' then
  return { 'PAUSED', ended }
elseif status == 'closed' then
  return { 'CLOSED', ended }
elseif status == 'soldOut' then
  -- Nothing can come back on sale (no seat available, none held).
  return { 'SOLD_OUT', ended }
end
-- No seat to sell but some held: admit nobody, since seats may come back
-- (the bucket is left alone, as when paused).
if m[11] == '0' then
  return { 'OK', 0, ended }
end
local burst = math.max(1, rate * tickMs / 1000)
-- The bucket holds the burst's whole admissions plus a fraction under one.
-- Admissions are whole users, so a 1 s window still admits at most
-- ratePerSecond + floor(burst) (invariant 6). Capping at exactly `burst`
-- threw away the fraction a tick could not use yet: ticks are never exactly
-- tickMs apart (a tick 99 ms after the last one finds 0.99 of a token, admits
-- nobody, and the next one's refill was then cut back to 1), which cost one
-- replica about a tenth of a 10/s rate.
local cap = math.floor(burst) + 0.999
local wasFull = tokens >= cap
tokens = math.min(cap, tokens + math.max(0, now - tokensAt) * rate / 1000)

local want = math.min(math.floor(tokens), maxActive - rcall('ZCARD', activeKey), maxBatch)
local admitted = 0
local sessionEnd = now + sessionTtlMs

local function admit(seq, fingerprint, userId)
  rcall('HSET', sessionsKey, seq, fingerprint .. '|' .. userId)
  rcall('ZADD', activeKey, sessionEnd, seq)
  admitted = admitted + 1
end

if want > 0 then
  if queueKind == 'streams' then
    local entries = rcall('XRANGE', streamKey, (head + 1) .. '-0', '+', 'COUNT', want)
    local last = head
    for _, entry in ipairs(entries) do
      -- entry = { '<seq>-0', { 'u', userId [, 'k', fingerprint] } }
      local seq = string.sub(entry[1], 1, -3)
      if entry[2][1] == 'u' and entry[2][2] then
        admit(seq, entry[2][4] or '', entry[2][2])
      end
      last = tonumber(seq)
    end
    if last > head then
      rcall('XTRIM', streamKey, 'MINID', (last + 1) .. '-0')
      rcall('HSET', metaKey, 'head', last)
    end
  else
    -- Read every entry and its record first, write after: a runtime error
    -- can then leave no user taken out of line without a session.
    local front = rcall('ZRANGE', zqueueKey, 0, want - 1)
    local entries = {}
    for _, seq in ipairs(front) do
      local record = rcall('HGET', zwaitKey, seq)
      local bar = record and string.find(record, '|', 1, true)
      -- An entry without a well-formed record names nobody: it leaves the line unadmitted.
      entries[#entries + 1] = { seq, bar and string.sub(record, 1, bar - 1), bar and string.sub(record, bar + 1) }
    end
    if #front > 0 then
      rcall('ZREM', zqueueKey, unpack(front))
      rcall('HDEL', zwaitKey, unpack(front))
      rcall('HSET', metaKey, 'head', front[#front])
    end
    for _, e in ipairs(entries) do
      if e[2] then
        admit(e[1], e[2], e[3])
      end
    end
  end
end

if admitted > 0 or not wasFull then
  rcall('HSET', metaKey, 'tokens', tokens - admitted, 'tokensAt', now)
end
if admitted > 0 and sessionEnd > tonumber(m[10] or '0') then
  rcall('HSET', metaKey, 'sessionsUntil', sessionEnd)
end
-- Nobody waits any more (those ahead were admitted or left): record up to
-- which sequence, so the replicas stop ticking until a join raises seq.
local stillWaiting = queueKind == 'streams' and rcall('XLEN', streamKey) or rcall('ZCARD', zqueueKey)
if stillWaiting == 0 and m[9] ~= m[5] then
  rcall('HSET', metaKey, 'drained', m[5])
end
observeAdmissions(metaKey, admitted, now, { admWin = m[12], admHist = m[13], admFirst = m[14] })
return { 'OK', admitted, ended }
