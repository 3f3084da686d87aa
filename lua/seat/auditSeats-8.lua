--[[
  The audit, one chunk of seats (in seat order) at a time, so no call blocks
  Redis for long however large the event. Reads only. Every check here is
  about one seat and the records it points at, read in this one call, so a
  mismatch found is real even while holds come and go between chunks; the
  totals are compared by the service (see seat.repository.ts).

  Checks per seat: a known state; available <=> in the available set (at its
  index) <=> its row's free flag. (That each held seat belongs to a live hold
  follows from auditHolds: every seat a live hold lists is held by it, and
  the seats they list add up to the held seats.) Per
  layout row starting in the chunk: its flags cover its seats and the run
  index lists it for exactly the runs it has. Members of the available set
  in the chunk's index range must be available seats.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

    ARGV[1] cursor      seat index to start after (0 = from the start)
    ARGV[2] limit       most seats read (1..1000)

  Output:
    { 'OK', rev, nextCursor, available, held, sold, 'level:a:h:s,...', runEntries, kind1, detail1, ... }
      rev: the event's seat-change counter when read; nextCursor 0 at the end;
      per-level counts of this chunk (layout events); run-index entries the
      rows starting in this chunk should have; then at most 100 mismatches
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
--- @include "includes/args"
--- @include "includes/layout"
--- @include "includes/audit"

local cursor, limit = argInt('cursor', ARGV[1], 0), argInt('limit', ARGV[2], 1, 1000)
local k, rev, report, reply = auditBegin(seatKeys(unpack(KEYS, 1, 8)))
if not rev then
  return { 'EVENT_NOT_FOUND' }
end

local layout = hasLayout(k)
local count = { a = 0, h = 0, s = 0 }
-- seatId -> index of the chunk's available seats found in the available set
local listed = {}
local perLevel, rowCache = {}, {}

local function row(r)
  if not rowCache[r] then
    local level, n = rowInfo(k, r)
    rowCache[r] = { level = level, n = n, flags = rcall('HGET', k.rows, 'f' .. r) or '' }
    perLevel[level] = perLevel[level] or { a = 0, h = 0, s = 0 }
  end
  return rowCache[r]
end

local batch = rcall('ZRANGE', k.seatIndex, '(' .. cursor, '+inf', 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local last = cursor
for i = 1, #batch, 2 do
  local seatId, index = batch[i], tonumber(batch[i + 1])
  last = index
  local state = rcall('HGET', k.seats, seatId)
  local kind = state and string.sub(state, 1, 1)
  if not state or count[kind] == nil or (kind ~= 'a' and string.sub(state, 2, 2) ~= ':') then
    report('seat_state', seatId .. ' has state ' .. tostring(state))
  else
    count[kind] = count[kind] + 1
    local inAvail = tonumber(rcall('ZSCORE', k.avail, seatId))
    if (kind == 'a') ~= (inAvail == index) then
      report('available_set', seatId .. ' is ' .. state .. ' but ' .. (inAvail and 'in' or 'not in') .. ' the available set')
    elseif kind == 'a' then
      listed[seatId] = index
    end
    if layout then
      local r, p = math.floor(index / ROW_SPAN), index % ROW_SPAN
      local info = row(r)
      perLevel[info.level][kind] = perLevel[info.level][kind] + 1
      if (string.sub(info.flags, p, p) == '1') ~= (kind == 'a') then
        report('row', seatId .. ' is ' .. state .. ' but its row flag says ' .. string.sub(info.flags, p, p))
      end
    end
  end
end

-- Rows that start in this chunk: flags cover the row; the run index lists
-- the row for its longest run and not for one more (checked both in band 0
-- and in the row's level band). The service compares the run index's size
-- with the sum of 2 x longest run over all rows.
local runEntries = 0
if layout then
  for r, info in pairs(rowCache) do
    if r * ROW_SPAN + 1 > cursor then
      if #info.flags ~= info.n then
        report('row', 'row ' .. r .. ' has ' .. #info.flags .. ' flags for ' .. info.n .. ' seats')
      end
      local longest = longestRun(info.flags)
      runEntries = runEntries + 2 * longest
      for _, band in ipairs({ 0, info.level }) do
        if longest > 0 and not rcall('ZSCORE', k.runs, runMember(longest, band, r)) then
          report('run_index', 'row ' .. r .. ' has a free run of ' .. longest .. ' the run index lacks (band ' .. band .. ')')
        end
        if longest < RUN_CAP and rcall('ZSCORE', k.runs, runMember(longest + 1, band, r)) then
          report('run_index', 'row ' .. r .. ' has no free run of ' .. (longest + 1) .. ' but the run index lists one (band ' .. band .. ')')
        end
      end
    end
  end
end

-- Stray members of the available set within this chunk's index range: every
-- seat with an index in the range was read above, so a member that is not one
-- of its available seats (at its index) is a stray.
if #batch > 0 then
  local members = rcall('ZRANGE', k.avail, '(' .. cursor, last, 'BYSCORE', 'WITHSCORES')
  for i = 1, #members, 2 do
    if listed[members[i]] ~= tonumber(members[i + 1]) then
      report('available_set', members[i] .. ' is in the available set but is not an available seat at that index')
    end
  end
end

local levels = {}
for level, c in pairs(perLevel) do
  levels[#levels + 1] = level .. ':' .. c.a .. ':' .. c.h .. ':' .. c.s
end
local next = #batch < 2 * limit and 0 or last
return reply({ 'OK', rev, next, count.a, count.h, count.s, table.concat(levels, ','), runEntries })
