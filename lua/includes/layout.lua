--[[
  The venue layout of an event made with `layout` (sections of rows at price
  levels); events made from `seats`/`capacity` have none, and for them only
  the change counter moves.

  A layout seat's index (its score in seatIndex and avail) is
  row * ROW_SPAN + position, rows numbered best first from 1, positions from 1
  in physical order: the index order is section, row, seat order.

  k.rows (hash):  'i<row>' -> '<level>|<seats>|<sectionId>|<rowId>'
                  'f<row>' -> one character per seat, '1' free, '0' held or sold
  k.runs (zset):  the run index: member = score = runMember(q, band, row) for
                  every q in 1..longestRun(row) (capped at RUN_CAP), in band 0
                  (every level) and in the band of the row's level. The best
                  row with a run of q free seats in a band and row range is one
                  ZRANGE BYSCORE ... LIMIT 0 1: cost O(log rows), never capacity.
  k.meta fields:  'layout' 1, 'currency', 'levels' n, 'level:<i>' '<name>|<price>',
                  'levelOf:<name>' i, 'section:<id>' '<level>|<firstRow>|<lastRow>',
                  'a:<i>' 'h:<i>' 's:<i>' per-level available / held / sold,
                  'rev' seat changes so far (the audit's consistency check),
                  'seatv' the seat version: entries ever written to the seat
                  change log (below), 'seatt' the tag of entry 'seatv'.

  The seat change log lets every replica keep its copy of the seat map
  (src/seat/seat-snapshots.ts) at a cost of O(changes), never O(capacity):
  each seatsMoved call bumps 'seatv' to v and writes entry v into k.rows as
  'c<v % SEAT_LOG_SIZE>' = the seats' new state ('a', 'h' or 's') followed by
  their ids, comma-separated (a ring: the oldest entry is overwritten). A
  reader more than SEAT_LOG_SIZE entries behind reads the whole map again
  (seat/seatChanges-2.lua, seat/seatChunk-4.lua). Events without a layout
  keep the log in k.rows too (they have no rows otherwise).
  With each entry goes its tag, 't<v % SEAT_LOG_SIZE>' = the Redis TIME of
  the script that wrote it ('<seconds>.<microseconds>'). A reader keeps the
  tag of the last entry it applied: if Redis loses recent writes (a failover,
  AOF's last second) and later changes reuse those versions, entry v's tag is
  no longer the one the reader saw, and it reads the whole map again instead
  of missing changes it can no longer tell from the ones it applied. The
  latest tag is also in meta ('seatt'), so a refresh that finds nothing new
  checks it in the same HMGET that reads the version.
]]
local ROW_SPAN, RUN_CAP, RUN_BANDS, RUN_ROWS = 4096, 20, 64, 131072
local SEAT_LOG_SIZE = 4096

local function runMember(q, band, row)
  return ((q * RUN_BANDS) + band) * RUN_ROWS + row
end

local function longestRun(flags)
  local best = 0
  for run in string.gmatch(flags, '1+') do
    if #run > best then best = #run end
  end
  return math.min(best, RUN_CAP)
end

-- Adds or removes a row's run-index entries when its longest run goes from
-- `old` to `new` seats.
local function reindexRow(k, row, level, old, new)
  if new == old then return end
  local members = {}
  for q = math.min(old, new) + 1, math.max(old, new) do
    for _, band in ipairs({ 0, level }) do
      local m = runMember(q, band, row)
      if new > old then members[#members + 1] = m end
      members[#members + 1] = m
    end
  end
  if new > old then
    redis.call('ZADD', k.runs, unpack(members))
  else
    redis.call('ZREM', k.runs, unpack(members))
  end
end

-- '<level>|<seats>|<sectionId>|<rowId>' of a row, as level, seats, sectionId, rowId.
local function rowInfo(k, row)
  local level, n, sectionId, rowId = string.match(redis.call('HGET', k.rows, 'i' .. row), '^(%d+)|(%d+)|([^|]*)|(.*)$')
  return tonumber(level), tonumber(n), sectionId, rowId
end

local function hasLayout(k)
  if k.layout == nil then k.layout = redis.call('HEXISTS', k.meta, 'layout') == 1 end
  return k.layout
end

-- The price level index of each seat (layout events only), in order.
local function seatLevels(k, seatIds)
  local levels, cache = {}, {}
  for i, seatId in ipairs(seatIds) do
    local row = math.floor(tonumber(redis.call('ZSCORE', k.seatIndex, seatId)) / ROW_SPAN)
    if not cache[row] then cache[row] = rowInfo(k, row) end
    levels[i] = cache[row]
  end
  return levels
end

-- The prices of seats (layout events only): their price level names in order,
-- comma-separated (an order's 'priceLevels'), and their total price in minor
-- units (its 'amount').
local function seatPrices(k, seatIds)
  local names, total = {}, 0
  for i, level in ipairs(seatLevels(k, seatIds)) do
    local name, price = string.match(redis.call('HGET', k.meta, 'level:' .. level), '^(.*)|(%d+)$')
    names[i] = name
    total = total + tonumber(price)
  end
  return table.concat(names, ','), total
end

-- Keeps the per-level counters, the rows' free flags and the run index in step
-- with seats going from state `from` to state `to` ('a', 'h' or 's'), counts
-- the change and logs it for the replicas' seat snapshots. Every script that
-- changes a seat's state calls it.
local function seatsMoved(k, seatIds, from, to)
  if #seatIds == 0 then return end
  -- Once per script is enough for the audit to see that something changed
  -- (a sweep can expire a thousand holds in one call).
  if not k.revCounted then
    redis.call('HINCRBY', k.meta, 'rev', 1)
    k.revCounted = true
  end
  local v = redis.call('HINCRBY', k.meta, 'seatv', 1)
  if not k.seatTag then
    local t = redis.call('TIME')
    k.seatTag = t[1] .. '.' .. t[2]
    redis.call('HSET', k.meta, 'seatt', k.seatTag)
  end
  local slot = v % SEAT_LOG_SIZE
  redis.call('HSET', k.rows, 'c' .. slot, to .. table.concat(seatIds, ','), 't' .. slot, k.seatTag)
  if not hasLayout(k) then return end
  local perLevel, perRow = {}, {}
  for _, seatId in ipairs(seatIds) do
    local index = tonumber(redis.call('ZSCORE', k.seatIndex, seatId))
    local row = math.floor(index / ROW_SPAN)
    perRow[row] = perRow[row] or {}
    table.insert(perRow[row], index % ROW_SPAN)
  end
  local flag = to == 'a' and '1' or '0'
  for row, positions in pairs(perRow) do
    local level = rowInfo(k, row)
    perLevel[level] = (perLevel[level] or 0) + #positions
    if from == 'a' or to == 'a' then
      local flags = redis.call('HGET', k.rows, 'f' .. row)
      local before = longestRun(flags)
      for _, p in ipairs(positions) do
        flags = string.sub(flags, 1, p - 1) .. flag .. string.sub(flags, p + 1)
      end
      redis.call('HSET', k.rows, 'f' .. row, flags)
      reindexRow(k, row, level, before, longestRun(flags))
    end
  end
  for level, n in pairs(perLevel) do
    redis.call('HINCRBY', k.meta, from .. ':' .. level, -n)
    redis.call('HINCRBY', k.meta, to .. ':' .. level, n)
  end
end
