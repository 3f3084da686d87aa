--[[
  Holds seats for an admitted user: named seats (all or nothing), the best
  `quantity` available (section, row, seat order), or with 'together' the best
  run of `quantity` adjacent free seats in one row; the last two optionally
  within one price level or section (layout events). Reclaims a few expired
  holds first, checks the session is live and owned by the user, the per-user
  limit (held + bought), then marks the seats held until now + holdTtlSeconds.
  Finding seats costs O(log rows) per row looked at (the run index, see
  includes/layout), never O(capacity).

  Input:
    KEYS[1] meta       event hash (holdTtlSeconds, maxSeatsPerUser, counters)
    KEYS[2] seats      hash seatId -> 'a' | 'h:<holdId>' | 's:<orderId>'
    KEYS[3] avail      sorted set of available seats by seat index
    KEYS[4] seatIndex  sorted set of every seat by seat index
    KEYS[5] holds      sorted set holdId -> expiresAt (ms) of live holds
    KEYS[6] userSeats  hash userId -> seats held + bought
    KEYS[7] rows       hash of the layout's rows (see includes/layout)
    KEYS[8] runs       run index of free seats per row (see includes/layout)
    KEYS[9] active     sorted set sessionId -> session end (ms)
    KEYS[10] sessions  hash sessionId -> '<secret>|<userId>'
    KEYS[11] hold      the new hold's hash
    KEYS[12] idem      idempotency record (unused when ARGV[6] is '0')

    ARGV[1] userId      from the access token, never from the body
    ARGV[2] sessionId   from the access token
    ARGV[3] holdId      new, random
    ARGV[4] mode        'seats' | 'quantity' | 'together'
    ARGV[5] quantity    seats wanted in 'quantity' and 'together' mode (>= 1; ignored in 'seats' mode)
    ARGV[6] useIdem     '1' when the request carries an Idempotency-Key, else '0'
    ARGV[7] idemTtl     seconds the idempotency record lives (>= 1)
    ARGV[8] priceLevel  only seats of this price level ('' = any)
    ARGV[9] sectionId   only seats of this section ('' = any)
    ARGV[10..] seatIds  in 'seats' mode (at least one, unique)

  The hold's record (KEYS[11]) lives until expiresAt + EXPIRED_HOLD_TTL, so a
  late confirm still finds it; the seats come back through the holds index
  (see includes/sweepExpiredHolds), with or without the record.

  Output:
    { 'OK', holdId, expiresAtMs, 'seat1,seat2' }
    { 'REPLAYED', holdId, expiresAtMs, 'seat1,seat2' }  same Idempotency-Key again
    { 'FORBIDDEN' }                        no live session for this user
    { 'LIMIT_EXCEEDED', current, max }
    { 'SEAT_NOT_FOUND', 'seatA,seatB' }
    { 'SEAT_UNAVAILABLE', 'seatA,seatB' }
    { 'SOLD_OUT', available }              fewer than `quantity` free (in the filter)
    { 'NO_ADJACENT_SEATS', available }     enough free in the filter, but no run of `quantity`
    { 'BAD_FILTER', reason }               together/priceLevel/sectionId on an event without
                                           a layout, or an unknown price level or section
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local activeKey, sessionsKey, holdKey, idemKey = KEYS[9], KEYS[10], KEYS[11], KEYS[12]

--- @include "includes/args"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"
--- @include "includes/idempotency"

-- Seconds a hold's record outlives its expiry, so a late confirm gets
-- HOLD_EXPIRED rather than HOLD_NOT_FOUND.
local EXPIRED_HOLD_TTL = 3600

local userId, sessionId, holdId = argId('userId', ARGV[1]), argId('sessionId', ARGV[2]), argId('holdId', ARGV[3])
local mode = argOneOf('mode', ARGV[4], { 'seats', 'quantity', 'together' })
local quantity = mode ~= 'seats' and argInt('quantity', ARGV[5], 1) or 0
local useIdem = argOneOf('useIdem', ARGV[6], { '0', '1' }) == '1'
local idemTtl = argInt('idemTtl', ARGV[7], 1)
local levelFilter, sectionFilter = ARGV[8] or '', ARGV[9] or ''
local SEATS_FROM = 10
if mode == 'seats' then
  if #ARGV < SEATS_FROM then
    argFail('seatIds', '', 'at least one seat id in seats mode')
  end
  local seen = {}
  for i = SEATS_FROM, #ARGV do
    if seen[argId('seatId', ARGV[i])] then
      argFail('seatId', ARGV[i], 'given twice')
    end
    seen[ARGV[i]] = true
  end
end

local k = seatKeys(unpack(KEYS, 1, 8))
local m = rcall('HMGET', k.meta, 'holdTtlSeconds', 'maxSeatsPerUser')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local now = reclaimDueHolds(k)

local previous = useIdem and idempotentAnswer(idemKey)
if previous then
  -- previous = { holdId, expiresAtMs, 'seat1,seat2' }
  return { 'REPLAYED', previous[1], tonumber(previous[2]), previous[3] }
end

local sessionEnd = rcall('ZSCORE', activeKey, sessionId)
local session = rcall('HGET', sessionsKey, sessionId)
if not sessionEnd or tonumber(sessionEnd) <= now or not session
  or string.sub(session, string.find(session, '|', 1, true) + 1) ~= userId then
  return { 'FORBIDDEN' }
end

-- The filter as a run-index band (0 = every level) and a row range.
local band, firstRow, lastRow = 0, 1, RUN_ROWS - 1
if mode == 'together' or levelFilter ~= '' or sectionFilter ~= '' then
  if not hasLayout(k) then
    return { 'BAD_FILTER', 'together, priceLevel and sectionId need an event created with a layout' }
  end
  if levelFilter ~= '' then
    band = tonumber(rcall('HGET', k.meta, 'levelOf:' .. levelFilter))
    if not band then return { 'BAD_FILTER', 'no price level ' .. levelFilter } end
  end
  if sectionFilter ~= '' then
    local section = rcall('HGET', k.meta, 'section:' .. sectionFilter)
    if not section then return { 'BAD_FILTER', 'no section ' .. sectionFilter } end
    local level, first, last = string.match(section, '^(%d+)|(%d+)|(%d+)$')
    if band ~= 0 and band ~= tonumber(level) then
      return { 'BAD_FILTER', 'section ' .. sectionFilter .. ' is not at price level ' .. levelFilter }
    end
    band, firstRow, lastRow = tonumber(level), tonumber(first), tonumber(last)
  end
end

-- The best rows (in order) of the filter that have a run of at least q free seats.
local function rowsWithRun(q, count)
  local rows = rcall('ZRANGE', k.runs, runMember(q, band, firstRow), runMember(q, band, lastRow), 'BYSCORE', 'LIMIT', 0, count)
  for i, member in ipairs(rows) do rows[i] = tonumber(member) % RUN_ROWS end
  return rows
end

-- The free seats of a row from position `from` on, at most `count`, in seat order.
local function freeSeatsOf(row, flags, from, count)
  local out = {}
  local p = string.find(flags, '1', from, true)
  while p and #out < count do
    local index = row * ROW_SPAN + p
    out[#out + 1] = rcall('ZRANGE', k.seatIndex, index, index, 'BYSCORE')[1]
    p = string.find(flags, '1', p + 1, true)
  end
  return out
end

-- Up to `count` free seats of the filter, best first: looks at no more than
-- `count` rows (each listed row has at least one free seat).
local function bestInFilter(count)
  local out = {}
  for _, row in ipairs(rowsWithRun(1, count)) do
    for _, seatId in ipairs(freeSeatsOf(row, rcall('HGET', k.rows, 'f' .. row), 1, count - #out)) do
      out[#out + 1] = seatId
    end
    if #out == count then break end
  end
  return out
end

local wanted = mode == 'seats' and (#ARGV - SEATS_FROM + 1) or quantity
local maxSeats = tonumber(m[2])
local current = tonumber(rcall('HGET', k.userSeats, userId) or '0')
if current + wanted > maxSeats then
  return { 'LIMIT_EXCEEDED', current, maxSeats }
end

local available = tonumber(rcall('HGET', k.meta, 'available'))
local picked = {}
if mode == 'seats' then
  local missing, taken = {}, {}
  for i = SEATS_FROM, #ARGV do
    local state = rcall('HGET', k.seats, ARGV[i])
    if not state then
      missing[#missing + 1] = ARGV[i]
    elseif state ~= 'a' then
      taken[#taken + 1] = ARGV[i]
    end
    picked[#picked + 1] = ARGV[i]
  end
  if #missing > 0 then
    return { 'SEAT_NOT_FOUND', table.concat(missing, ',') }
  end
  if available == 0 then
    return { 'SOLD_OUT', 0 }
  end
  if #taken > 0 then
    return { 'SEAT_UNAVAILABLE', table.concat(taken, ',') }
  end
elseif mode == 'together' then
  local row = rowsWithRun(wanted, 1)[1]
  if row then
    local flags = rcall('HGET', k.rows, 'f' .. row)
    local at = string.find(flags, string.rep('1', wanted), 1, true)
    if not at then
      return redis.error_reply('INVARIANT run index lists row ' .. row .. ' without a run of ' .. wanted)
    end
    -- The run is `wanted` consecutive positions: one range read gives its seats.
    local first = row * ROW_SPAN + at
    picked = rcall('ZRANGE', k.seatIndex, first, first + wanted - 1, 'BYSCORE')
  else
    -- No run fits: sold out unless the filter still has `wanted` free seats.
    local left = #bestInFilter(wanted)
    return { left < wanted and 'SOLD_OUT' or 'NO_ADJACENT_SEATS', left }
  end
elseif band ~= 0 then
  picked = bestInFilter(wanted)
  if #picked < wanted then
    return { 'SOLD_OUT', #picked }
  end
else
  if available < wanted then
    return { 'SOLD_OUT', available }
  end
  picked = rcall('ZRANGE', k.avail, 0, wanted - 1)
end
local expiresAt = now + tonumber(m[1]) * 1000
local seatList = table.concat(picked, ',')

-- Everything is checked: from here on only writes.
for _, seatId in ipairs(picked) do
  rcall('HSET', k.seats, seatId, 'h:' .. holdId)
end
seatsMoved(k, picked, 'a', 'h')
rcall('ZREM', k.avail, unpack(picked))
rcall('HINCRBY', k.meta, 'available', -#picked)
rcall('HINCRBY', k.meta, 'held', #picked)
rcall('HINCRBY', k.userSeats, userId, #picked)
rcall('HSET', holdKey, 'userId', userId, 'sessionId', sessionId, 'seatIds', seatList,
  'expiresAt', expiresAt, 'state', 'held')
rcall('PEXPIREAT', holdKey, expiresAt + EXPIRED_HOLD_TTL * 1000)
rcall('ZADD', k.holds, expiresAt, holdMember(holdId, userId, seatList))
if useIdem then
  rememberAnswer(idemKey, idemTtl, { holdId, expiresAt, seatList })
end
return { 'OK', holdId, expiresAt, seatList }
