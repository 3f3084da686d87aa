--[[
  One admission tick for one event. Every replica calls it every tick while
  someone waits (once a second while only sessions are live); the token
  bucket lives in the event hash, so however many replicas call it, the
  event admits at most ratePerSecond per second plus one tick's burst.

  1. ends admitted sessions whose time is over (bounded batch);
  2. refills the bucket: tokens grow at ratePerSecond, capped at one tick's
     worth of whole admissions (ratePerSecond * tickMs / 1000, at least 1)
     plus the unused fraction of a token;
  3. admits n = min(tokens, maxActive - active, maxBatch) users: first the
     sealed pre-queue in the committed shuffle's order (includes/prequeue),
     then the queue in join order (queueMethod fifo, passthrough), or by
     uniform random draws among those waiting (random), skipping those who
     left. Cost: O(n log queue), never O(queue);
  4. records the admissions for the observed rate (includes/observeAdmissions);
  5. leaves in the event hash what the replicas' once-a-second look at each
     event reads (src/event/event-activity.ts): 'drained', the sequence up to
     which the queue (and the pre-queue) was found empty (a join raises seq
     past it), and 'sessionsUntil', the latest session end. An event with
     neither someone waiting nor a live session is then not ticked at all.

  Random draws use randomness the service passes in (includes/randomDraw),
  never Lua's math.random (the same sequence after every Redis restart).
  A draw on the Streams backend picks a sequence uniformly in (head, seq]
  and takes it if that entry still waits (XRANGE of one id, O(log n)), else
  draws again: rejection sampling, so every entry still waiting is equally
  likely, whatever the gaps left by leaves and earlier draws. At most
  RANDOM_PROBES draws per call (a few milliseconds); when they run out
  (under about 1 in 5 of the range still waits) the call admits fewer and
  the next tick goes on, never picking by a biased rule. The entry is deleted from the
  middle of the stream and announced in `left` as 'a<seq>', so the replicas'
  snapshots send that ticket's next read to Redis (its turn came); head then
  moves past any run of taken or left entries at the front. On the
  sorted-set backend a draw is a uniform rank (ZRANGE r r, O(log n), exact).
  Switching methods moves nobody: fifo goes on from head in join order.

  Nobody is admitted before salesStartAt, while closed (endsAt passed,
  queueMethod reject) or paused. Nobody is admitted who could buy nothing: with no seat available the tick
  admits no one (SOLD_OUT when no hold is live either, since nothing can come
  back on sale; otherwise it waits for held seats to come back).
  'head' is the last sequence admitted (both backends: the sorted set pops in
  sequence order), so 'seq <= head' tells a replica a ticket's turn came.

  Input:
    KEYS[1] meta      event hash (ratePerSecond, maxActive, sessionTtlSeconds,
                      paused, head, tokens, tokensAt, available, held, queueMethod,
                      queueOpensAt, salesStartAt, endsAt, pqSealed, pqBase, pqCount, pqTaken,
                      admWin, admHist, admFirst, observedRate)
    KEYS[2] users     hash userId -> seq
    KEYS[3] stream    Streams backend queue
    KEYS[4] zqueue    sorted-set backend queue
    KEYS[5] zwait     sorted-set backend: hash seq -> '<fingerprint>|<userId>'
    KEYS[6] active    sorted set seq -> session end (ms)
    KEYS[7] sessions  hash seq -> '<fingerprint>|<userId>' (the join's Idempotency-Key fingerprint or '')
    KEYS[8] left      sorted set of announced leaves; random draws add 'a<seq>', score = leftVersion
    KEYS[9] prequeue  sorted set '<sortKey>:<pn>', score 0 (includes/prequeue)
    KEYS[10] pqrecs   hash pn -> '<sortKey>|<fingerprint>|<userId>' | '=<seq>'
    KEYS[11] nonces   string: join nonces by sequence; a pre-queue entry's is copied to its
                      session's sequence when admitted (includes/nonces)
    KEYS[12] pnonces  string: join nonces by pre-queue number

    ARGV[1] tickMs    the caller's tick period in ms (sets the burst cap, >= 1)
    ARGV[2] maxBatch  most users admitted by one call (1..1000; the service
                      uses 100, ADMIT_MAX_BATCH, so one call stays near a millisecond)
    ARGV[3] randomSeed 32 hex digits of fresh randomness from the service (needed only
                      for queueMethod random; '' otherwise is refused when a draw is due)
    ARGV[4] manual    optional; 0 or absent: an admission tick (admits nobody while
                      admissionMode is 'manual'); n >= 1: admit the next min(n, maxBatch)
                      now (POST .../admissions), whatever admissionMode, paused, the
                      bucket and maxActive say; the bucket is left alone

  Output:
    { 'OK', admitted, endedSessions, head, createdAtMs, waiting }   head after the call
                                       (replicas' answers start from it); waiting: those still in line
    { 'PAUSED', endedSessions }
    { 'NOT_STARTED', endedSessions }   before salesStartAt (or queueOpensAt): nobody is admitted
    { 'CLOSED', endedSessions }        endsAt passed or queueMethod reject: nobody is admitted
    { 'SOLD_OUT', endedSessions }   available == 0 and held == 0: nobody is admitted any more
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
    error reply 'INVARIANT ...' when the event hash lacks a setting (nothing written)
]]
local rcall = redis.call
local metaKey, usersKey, streamKey, zqueueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local zwaitKey, activeKey, sessionsKey = KEYS[5], KEYS[6], KEYS[7]
local leftKey, prequeueKey, pqrecsKey, noncesKey, pnoncesKey = KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local RANDOM_PROBES, LEFT_KEEP = 500, 100000

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/pruneSessions"
--- @include "includes/observeAdmissions"
--- @include "includes/eventStatus"
--- @include "includes/prequeue"
--- @include "includes/waitingCount"
--- @include "includes/nonces"
--- @include "includes/randomDraw"

-- maxBatch bounds one call's time (about 5 µs per admitted user).
local tickMs, maxBatch = argInt('tickMs', ARGV[1], 1), argInt('maxBatch', ARGV[2], 1, 1000)
local randomSeed = ARGV[3] or ''
if randomSeed ~= '' and not string.match(randomSeed, '^' .. string.rep('[0-9a-f]', 32) .. '$') then
  argFail('randomSeed', randomSeed, 'must be 32 lowercase hex digits or empty')
end
local manual = argInt('manual', ARGV[4] or '0', 0)
-- Most entries written by one HSET/ZADD: unpack stays far below Lua's stack limit (8000).
local WRITE_CHUNK = 500

local m = rcall('HMGET', metaKey, 'queue', 'ratePerSecond', 'maxActive', 'sessionTtlSeconds',
  'paused', 'head', 'tokens', 'tokensAt', 'available', 'held', 'admWin', 'admHist', 'admFirst',
  'seq', 'drained', 'sessionsUntil', 'createdAt', 'admissionMode')
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

-- While paused (closed, not started) nothing is written: on resume the refill
-- is capped at the burst anyway, so an idle or paused event costs no writes.
local status, f = eventStatus(metaKey, now)
if status == 'soldOut' then
  return { 'SOLD_OUT', ended }
elseif status == 'closed' then
  return { 'CLOSED', ended }
elseif status == 'scheduled' or status == 'prequeue' then
  return { 'NOT_STARTED', ended }
elseif status == 'paused' and manual == 0 then
  return { 'PAUSED', ended }
end
-- A manual event admits only when asked (POST .../admissions): its tick just ends sessions.
if manual == 0 and m[18] == 'manual' then
  return { 'OK', 0, ended, head, tonumber(m[17]), 0 }
end
-- No seat to sell: admit nobody. Seats held may come back, so wait (the
-- bucket is left alone, as when paused).
if m[9] == '0' then
  return { 'OK', 0, ended, head, tonumber(m[17]), 0 }
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
if manual > 0 then want = math.min(manual, maxBatch) end
local admitted = 0
local sessionEnd = now + sessionTtlMs

-- Admissions are buffered and written up to WRITE_CHUNK at a time (one HSET
-- and one ZADD each), not two commands per user: a command call from Lua
-- costs more than the field it writes.
local sessionArgs, activeArgs = {}, {}
local function flushAdmissions()
  if #sessionArgs > 0 then
    rcall('HSET', sessionsKey, unpack(sessionArgs))
    rcall('ZADD', activeKey, unpack(activeArgs))
    sessionArgs, activeArgs = {}, {}
  end
end
local function admit(seq, fingerprint, userId)
  local n = #sessionArgs
  sessionArgs[n + 1] = seq
  sessionArgs[n + 2] = fingerprint .. '|' .. userId
  activeArgs[n + 1] = sessionEnd
  activeArgs[n + 2] = seq
  admitted = admitted + 1
  if n + 2 >= 2 * WRITE_CHUNK then flushAdmissions() end
end

-- The sealed pre-queue first, in the shuffle's order: entry of rank r is
-- sequence pqBase + r. Left entries are placeholders: skipped, their
-- sequence used up. At most 4 * maxBatch members are looked at per call, and
-- each batch is a fixed number of commands (HMGET, HSET, ZADD of all its
-- entries at once), not a few per entry.
local base, count, taken = sealPrequeue(metaKey, prequeueKey, now)
if want > 0 and base and taken < count then
  local scanned = 0
  while admitted < want and taken < count and scanned < 4 * maxBatch do
    local members = rcall('ZRANGE', prequeueKey, 0, math.min(want - admitted, count - taken, WRITE_CHUNK) - 1)
    if #members == 0 then
      taken = count
      break
    end
    local pns = {}
    for i, member in ipairs(members) do pns[i] = memberPn(member) end
    local records = rcall('HMGET', pqrecsKey, unpack(pns))
    local sessionArgs, activeArgs, recordArgs, userArgs = {}, {}, {}, {}
    for i, pn in ipairs(pns) do
      taken = taken + 1
      local record = records[i]
      local _, fp, userId = nil, nil, nil
      if record then _, fp, userId = splitPrequeueRecord(record) end
      if userId then
        local seq = base + taken
        sessionArgs[#sessionArgs + 1] = seq
        sessionArgs[#sessionArgs + 1] = fp .. '|' .. userId
        activeArgs[#activeArgs + 1] = sessionEnd
        activeArgs[#activeArgs + 1] = seq
        recordArgs[#recordArgs + 1] = pn
        recordArgs[#recordArgs + 1] = '=' .. seq
        -- A waiting record means users[userId] is still 'p<pn>' (a leave removes both).
        userArgs[#userArgs + 1] = userId
        userArgs[#userArgs + 1] = seq
        -- The session's sequence gets the pre-queue join's nonce: its tickets are checked there at the turn.
        writeNonce(noncesKey, seq, readNonce(pnoncesKey, pn))
        admitted = admitted + 1
      end
    end
    if #sessionArgs > 0 then
      rcall('HSET', sessionsKey, unpack(sessionArgs))
      rcall('ZADD', activeKey, unpack(activeArgs))
      rcall('HSET', pqrecsKey, unpack(recordArgs))
      rcall('HSET', usersKey, unpack(userArgs))
    end
    rcall('ZREMRANGEBYRANK', prequeueKey, 0, #members - 1)
    scanned = scanned + #members
  end
  rcall('HSET', metaKey, 'pqTaken', taken, 'head', base + taken)
  if admitted > 0 then rcall('HINCRBY', metaKey, 'pqWaiting', -admitted) end
  head = base + taken
end

if want > admitted and (not base or taken >= count) then
  local n = want - admitted
  if f.queueMethod == 'random' then
    if randomSeed == '' then
      argFail('randomSeed', randomSeed, 'is needed for a random draw')
    end
    local lastSeq = tonumber(rcall('HGET', metaKey, 'seq'))
    local function announce(seq)
      local version = rcall('HINCRBY', metaKey, 'leftVersion', 1)
      rcall('ZADD', leftKey, version, 'a' .. seq)
      if version > LEFT_KEEP then
        rcall('ZREMRANGEBYSCORE', leftKey, '-inf', version - LEFT_KEEP)
      end
    end
    if queueKind == 'streams' then
      local waiting = rcall('XLEN', streamKey)
      local probes = 0
      for _ = 1, math.min(n, waiting) do
        local entry
        while not entry and probes < RANDOM_PROBES do
          probes = probes + 1
          local r = head + 1 + randomBelow(randomSeed, lastSeq - head)
          entry = rcall('XRANGE', streamKey, r .. '-0', r .. '-0')[1]
        end
        if not entry then break end
        local seq = string.sub(entry[1], 1, -3)
        if entry[2][1] == 'u' and entry[2][2] then
          admit(seq, entry[2][4] or '', entry[2][2])
        end
        rcall('XDEL', streamKey, entry[1])
        announce(seq)
      end
      -- Past the taken and left entries at the front: everyone up to head had their turn or left.
      local first = rcall('XRANGE', streamKey, (head + 1) .. '-0', '+', 'COUNT', 1)[1]
      local newHead = first and (tonumber(string.sub(first[1], 1, -3)) - 1) or lastSeq
      if newHead > head then
        rcall('HSET', metaKey, 'head', newHead)
      end
    else
      for _ = 1, n do
        local waiting = rcall('ZCARD', zqueueKey)
        if waiting == 0 then break end
        local r = randomBelow(randomSeed, waiting)
        local seq = rcall('ZRANGE', zqueueKey, r, r)[1]
        local record = rcall('HGET', zwaitKey, seq)
        local bar = record and string.find(record, '|', 1, true)
        rcall('ZREM', zqueueKey, seq)
        rcall('HDEL', zwaitKey, seq)
        -- An entry without a well-formed record names nobody: it leaves the line unadmitted.
        if bar then
          admit(seq, string.sub(record, 1, bar - 1), string.sub(record, bar + 1))
        end
      end
    end
  elseif queueKind == 'streams' then
    local entries = rcall('XRANGE', streamKey, (head + 1) .. '-0', '+', 'COUNT', n)
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
    local front = rcall('ZRANGE', zqueueKey, 0, n - 1)
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

flushAdmissions()
if manual == 0 and (admitted > 0 or not wasFull) then
  rcall('HSET', metaKey, 'tokens', tokens - admitted, 'tokensAt', now)
end
if admitted > 0 and sessionEnd > tonumber(m[16] or '0') then
  rcall('HSET', metaKey, 'sessionsUntil', sessionEnd)
end
-- Nobody waits any more (those ahead were admitted or left, the pre-queue
-- too): record up to which sequence, so the replicas stop ticking until a
-- join raises seq (or fills the pre-queue: pqWaiting).
local stillWaiting = waitingCount(queueKind, streamKey, zqueueKey, rcall('HGET', metaKey, 'pqWaiting'))
if stillWaiting == 0 and m[15] ~= m[14] then
  rcall('HSET', metaKey, 'drained', m[14])
end
observeAdmissions(metaKey, admitted, now, { admWin = m[11], admHist = m[12], admFirst = m[13] })
return { 'OK', admitted, ended, tonumber(rcall('HGET', metaKey, 'head')), tonumber(m[17]), stillWaiting }
