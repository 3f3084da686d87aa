--[[
  One page of the seat map, in seat order (section, row, seat), optionally of
  one status, one price level or one section. Reads only. Cost O(log n +
  scanned): an 'available' page reads the available set directly; other
  status filters scan at most 10 x limit seats per call and hand back a cursor
  to go on from. A section is one range of seat indexes, a price level a few
  (its sections' rows, merged when adjacent).

  Input:
    KEYS[1] meta       event hash (counters, layout: see includes/layout)
    KEYS[2] seats      hash seatId -> 'a' | 'h:<holdId>' | 's:<orderId>'
    KEYS[3] avail      sorted set of available seats by seat index
    KEYS[4] seatIndex  sorted set of every seat by seat index
    KEYS[5] rows       hash of the layout's rows (see includes/layout)

    ARGV[1] status     '' (all) | 'available' | 'held' | 'sold'
    ARGV[2] cursor     seat index to start after (0 = from the start)
    ARGV[3] limit      most seats returned
    ARGV[4] priceLevel '' (all) or a price level
    ARGV[5] sectionId  '' (all) or a section

  Output:
    { 'OK', available, held, sold, nextCursor,
      seatId1, status1, sectionId1, rowId1, priceLevel1, seatId2, ... }
      nextCursor 0 means there is no more; sectionId and rowId are '' and the
      price level 'GA' for events made without a layout
    { 'BAD_FILTER', reason }   an unknown price level or section
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local k = { meta = KEYS[1], seats = KEYS[2], avail = KEYS[3], seatIndex = KEYS[4], rows = KEYS[5] }

--- @include "includes/args"
--- @include "includes/layout"

local wantedStatus = argOneOf('status', ARGV[1], { '', 'available', 'held', 'sold' })
local cursor, limit = argInt('cursor', ARGV[2], 0), argInt('limit', ARGV[3], 1, 1000)
local levelFilter, sectionFilter = ARGV[4] or '', ARGV[5] or ''

local m = rcall('HMGET', k.meta, 'available', 'held', 'sold')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end

-- The seat-index ranges { lo, hi } to page through, in order.
local ranges = { { 0, math.huge } }
if hasLayout(k) then
  if sectionFilter ~= '' then
    local section = rcall('HGET', k.meta, 'section:' .. sectionFilter)
    if not section then return { 'BAD_FILTER', 'no section ' .. sectionFilter } end
    local level, first, last = string.match(section, '^(%d+)|(%d+)|(%d+)$')
    if levelFilter ~= '' and rcall('HGET', k.meta, 'levelOf:' .. levelFilter) ~= level then
      return { 'BAD_FILTER', 'section ' .. sectionFilter .. ' is not at price level ' .. levelFilter }
    end
    ranges = { { tonumber(first) * ROW_SPAN, tonumber(last) * ROW_SPAN + ROW_SPAN - 1 } }
  elseif levelFilter ~= '' then
    local level = rcall('HGET', k.meta, 'levelOf:' .. levelFilter)
    if not level then return { 'BAD_FILTER', 'no price level ' .. levelFilter } end
    ranges = {}
    for first, last in string.gmatch(rcall('HGET', k.meta, 'levelRows:' .. level), '(%d+)-(%d+)') do
      ranges[#ranges + 1] = { tonumber(first) * ROW_SPAN, tonumber(last) * ROW_SPAN + ROW_SPAN - 1 }
    end
  end
elseif sectionFilter ~= '' or (levelFilter ~= '' and levelFilter ~= 'GA') then
  return { 'BAD_FILTER', 'this event has no layout: its only price level is GA' }
end

local STATUS = { a = 'available', h = 'held', s = 'sold' }
local source = wantedStatus == 'available' and k.avail or k.seatIndex
local out = { 'OK', tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), 0 }
local rowCache, levelNames = {}, {}

local function place(index)
  if not k.layout then return '', '', 'GA' end
  local row = math.floor(index / ROW_SPAN)
  if not rowCache[row] then
    local level, _, sectionId, rowId = rowInfo(k, row)
    if not levelNames[level] then
      levelNames[level] = string.match(rcall('HGET', k.meta, 'level:' .. level), '^(.*)|')
    end
    rowCache[row] = { sectionId, rowId, levelNames[level] }
  end
  return rowCache[row][1], rowCache[row][2], rowCache[row][3]
end

-- An 'available' page takes every seat it reads; other filters read at most
-- 10 x limit seats, then hand back the cursor.
local budget = wantedStatus == 'available' and limit or limit * 10
local found, last = 0, cursor
for _, range in ipairs(ranges) do
  local lo, hi = range[1], range[2]
  while found < limit and budget > 0 and hi > last do
    local from = math.max(last, lo - 1)
    local batch = rcall('ZRANGE', source, '(' .. from, hi == math.huge and '+inf' or hi, 'BYSCORE',
      'LIMIT', 0, math.min(budget, 500), 'WITHSCORES')
    if #batch == 0 then
      if hi ~= math.huge then last = math.max(last, hi) end
      break
    end
    for i = 1, #batch, 2 do
      local seatId, index = batch[i], tonumber(batch[i + 1])
      local status = wantedStatus == 'available' and 'available' or STATUS[string.sub(rcall('HGET', k.seats, seatId), 1, 1)]
      last = index
      budget = budget - 1
      if wantedStatus == '' or wantedStatus == status then
        local sectionId, rowId, level = place(index)
        for _, v in ipairs({ seatId, status, sectionId, rowId, level }) do out[#out + 1] = v end
        found = found + 1
        if found == limit then break end
      end
    end
  end
  if found >= limit or budget <= 0 then break end
end

-- More to come when any range still has a seat after the last one read.
for _, range in ipairs(ranges) do
  local lo, hi = range[1], range[2]
  if hi > last and rcall('ZCOUNT', source, '(' .. math.max(last, lo - 1), hi == math.huge and '+inf' or hi) > 0 then
    out[5] = last
    break
  end
end
return out
