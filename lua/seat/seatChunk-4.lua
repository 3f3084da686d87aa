--[[
  One chunk of an event's whole seat map, in seat order: what a replica reads
  when it has no seat snapshot of the event yet, or fell too far behind the
  change log (see includes/layout). Reads only; at most `limit` seats per
  call, so no call blocks Redis for long however large the event. The chunks
  are not one atomic read: the caller replays the change log from the
  version the first chunk gives, which brings every seat read later up to
  date (each logged change sets a seat's state outright).

  Input:
    KEYS[1] meta       event hash
    KEYS[2] seats      hash seatId -> 'a' | 'h:<holdId>' | 's:<orderId>'
    KEYS[3] seatIndex  sorted set of every seat by seat index
    KEYS[4] rows       the layout's rows (see includes/layout)

    ARGV[1] after      seat index to start after (0 = from the start)
    ARGV[2] limit      most seats read (1..1000)
    ARGV[3] layout     '1': also the seats' ids and indexes, their rows, and
                       (with after = 0) the price levels; '0': states only

  Output:
    { 'OK', createdAt, version, capacity, next, states, ids, indexes, rows, levels, tag }
      version: the seat version when read; tag: the change-log tag of entry
      `version` ('' for version 0), which the caller's next seatChanges checks; next: the last seat index read
      when more seats follow, else 0; states: one character per seat read
      ('a', 'h' or 's'); with layout '1': ids and indexes of those seats,
      rows = { row, '<level>|<seats>|<sectionId>|<rowId>', ... } for each row
      they sit in (layout events), levels = { currency, '<name>|<price>' per
      price level, in order } (layout events, first chunk); else empty lists
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local k = { meta = KEYS[1], seats = KEYS[2], seatIndex = KEYS[3], rows = KEYS[4] }

--- @include "includes/args"
--- @include "includes/layout"

local after, limit = argInt('after', ARGV[1], 0), argInt('limit', ARGV[2], 1, 1000)
local withLayout = argOneOf('layout', ARGV[3], { '0', '1' }) == '1'

local m = rcall('HMGET', k.meta, 'createdAt', 'seatv', 'capacity', 'seatt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end

local batch = rcall('ZRANGE', k.seatIndex, '(' .. after, '+inf', 'BYSCORE', 'LIMIT', 0, limit + 1, 'WITHSCORES')
local n = math.min(#batch / 2, limit)
local ids, indexes, rows, levels = {}, {}, {}, {}
for i = 1, n do
  ids[i] = batch[2 * i - 1]
  indexes[i] = batch[2 * i]
end
local states = {}
if n > 0 then
  for i, value in ipairs(rcall('HMGET', k.seats, unpack(ids))) do
    states[i] = string.sub(value or '?', 1, 1)
  end
end
local next = #batch / 2 > limit and tonumber(indexes[n]) or 0

if withLayout and hasLayout(k) then
  local seen = {}
  for i = 1, n do
    local row = math.floor(tonumber(indexes[i]) / ROW_SPAN)
    if not seen[row] then
      seen[row] = true
      rows[#rows + 1] = row
      rows[#rows + 1] = rcall('HGET', k.rows, 'i' .. row)
    end
  end
  if after == 0 then
    local count = tonumber(rcall('HGET', k.meta, 'levels'))
    levels[1] = rcall('HGET', k.meta, 'currency')
    for level = 1, count do
      levels[level + 1] = rcall('HGET', k.meta, 'level:' .. level)
    end
  end
end
if not withLayout then
  ids, indexes = {}, {}
end
return { 'OK', m[1], tonumber(m[2] or 0), tonumber(m[3]), next, table.concat(states), ids, indexes, rows, levels, m[4] or '' }
