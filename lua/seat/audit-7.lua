--[[
  Recounts every seat of an event and checks it against the counters, the
  available set, the live holds, the per-user counts and the orders. Reads
  only; an admin operation, O(seats + holds + orders).

  Input:
    KEYS[1..6] meta, seats, avail, seatIndex, holds, userSeats (see hold-10.lua)
    KEYS[7] orders     stream of orders

  Live holds are checked through the holds index, whose members carry each
  hold's user and seats (see includes/sweepExpiredHolds); hold records are
  not read, so the audit touches only the keys above.

  Output:
    { 'OK', available, held, sold, kind1, detail1, kind2, detail2, ... }
      the recount, then at most 100 mismatches
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local ordersKey = KEYS[7]

--- @include "includes/seatKeys"
--- @include "includes/holdIndex"

local k = seatKeys()
local m = rcall('HMGET', k.meta, 'capacity', 'available', 'held', 'sold')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local mismatches = {}
local function report(kind, detail)
  if #mismatches < 200 then
    mismatches[#mismatches + 1] = kind
    mismatches[#mismatches + 1] = detail
  end
end

-- 1. Every seat's state.
local count = { a = 0, h = 0, s = 0 }
local heldBy, soldBy = {}, {}
local all = rcall('HGETALL', k.seats)
for i = 1, #all, 2 do
  local seatId, state = all[i], all[i + 1]
  local kind = string.sub(state, 1, 1)
  if count[kind] == nil then
    report('seat_state', seatId .. ' has state ' .. state)
  else
    count[kind] = count[kind] + 1
  end
  if kind == 'a' and not rcall('ZSCORE', k.avail, seatId) then
    report('available_set', seatId .. ' is available but not in the available set')
  elseif kind == 'h' then
    heldBy[seatId] = string.sub(state, 3)
  elseif kind == 's' then
    soldBy[seatId] = string.sub(state, 3)
  end
end

-- 2. Counters against the recount; capacity against the total.
local names = { a = 'available', h = 'held', s = 'sold' }
local counters = { a = tonumber(m[2]), h = tonumber(m[3]), s = tonumber(m[4]) }
for kind, name in pairs(names) do
  if counters[kind] ~= count[kind] then
    report('counter', name .. ' counter is ' .. counters[kind] .. ' but ' .. count[kind] .. ' seats are ' .. name)
  end
end
if counters.a + counters.h + counters.s ~= tonumber(m[1]) then
  report('capacity', 'available + held + sold = ' .. (counters.a + counters.h + counters.s) .. ', capacity ' .. m[1])
end
if rcall('ZCARD', k.avail) ~= count.a then
  report('available_set', 'available set has ' .. rcall('ZCARD', k.avail) .. ' seats, ' .. count.a .. ' are available')
end

-- 3. Live holds: each lists seats held by it; every held seat has its live hold.
local perUser = {}
local holdSeats = {}
for _, member in ipairs(rcall('ZRANGE', k.holds, 0, -1)) do
  local holdId, userId, seatList = parseHoldMember(member)
  if not holdId then
    report('hold', 'live hold entry ' .. member .. ' names no user and seats')
  else
    for seatId in string.gmatch(seatList, '[^,]+') do
      holdSeats[seatId] = true
      perUser[userId] = (perUser[userId] or 0) + 1
      if heldBy[seatId] ~= holdId then
        report('hold', 'hold ' .. holdId .. ' lists ' .. seatId .. ' which is not held by it')
      end
    end
  end
end
for seatId, holdId in pairs(heldBy) do
  if not holdSeats[seatId] then
    report('hold', seatId .. ' is held by ' .. holdId .. ' which is not a live hold')
  end
end

-- 4. Orders: each sold seat in exactly one order, each order's seats sold to it.
local orderSeats = {}
for _, entry in ipairs(rcall('XRANGE', ordersKey, '-', '+')) do
  local f = {}
  for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
  for seatId in string.gmatch(f.seatIds, '[^,]+') do
    if orderSeats[seatId] then
      report('order', seatId .. ' is in two orders: ' .. orderSeats[seatId] .. ' and ' .. f.orderId)
    end
    orderSeats[seatId] = f.orderId
    perUser[f.userId] = (perUser[f.userId] or 0) + 1
    if soldBy[seatId] ~= f.orderId then
      report('order', 'order ' .. f.orderId .. ' lists ' .. seatId .. ' which is not sold to it')
    end
  end
end
for seatId, orderId in pairs(soldBy) do
  if orderSeats[seatId] ~= orderId then
    report('order', seatId .. ' is sold to ' .. orderId .. ' which has no order entry')
  end
end

-- 5. Per-user counts (held + bought) against the recount.
local stored = rcall('HGETALL', k.userSeats)
local storedBy = {}
for i = 1, #stored, 2 do storedBy[stored[i]] = tonumber(stored[i + 1]) end
for userId, n in pairs(perUser) do
  if storedBy[userId] ~= n then
    report('user_count', userId .. ' has ' .. n .. ' seats held or bought, counter says ' .. tostring(storedBy[userId]))
  end
end
for userId, n in pairs(storedBy) do
  if not perUser[userId] and n ~= 0 then
    report('user_count', userId .. ' counter says ' .. n .. ' but holds and buys none')
  end
end

local out = { 'OK', count.a, count.h, count.s }
for _, v in ipairs(mismatches) do out[#out + 1] = v end
return out
