--[[
  One page of the seat map, in seat order, optionally of one status. Reads
  only. Cost O(log n + scanned): an 'available' page reads the available set
  directly; other filters scan at most 10 x limit seats per call and hand
  back a cursor to go on from.

  Input:
    KEYS[1] meta       event hash (counters)
    KEYS[2] seats      hash seatId -> 'a' | 'h:<holdId>' | 's:<orderId>'
    KEYS[3] avail      sorted set of available seats by seat index
    KEYS[4] seatIndex  sorted set of every seat by seat index

    ARGV[1] status     '' (all) | 'available' | 'held' | 'sold'
    ARGV[2] cursor     seat index to start after (0 = from the start)
    ARGV[3] limit      most seats returned

  Output:
    { 'OK', available, held, sold, nextCursor, seatId1, status1, seatId2, status2, ... }
      nextCursor 0 means there is no more
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local metaKey, seatsKey, availKey, seatIndexKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

--- @include "includes/args"

local wantedStatus = argOneOf('status', ARGV[1], { '', 'available', 'held', 'sold' })
local cursor, limit = argInt('cursor', ARGV[2], 0), argInt('limit', ARGV[3], 1, 1000)

local m = rcall('HMGET', metaKey, 'available', 'held', 'sold')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end

local STATUS = { a = 'available', h = 'held', s = 'sold' }
local out = { 'OK', tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), 0 }
local last = cursor
local exhausted = false

if wantedStatus == 'available' then
  local page = rcall('ZRANGE', availKey, '(' .. cursor, '+inf', 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
  for i = 1, #page, 2 do
    out[#out + 1] = page[i]
    out[#out + 1] = 'available'
    last = tonumber(page[i + 1])
  end
  exhausted = #page < limit * 2
else
  local budget = limit * 10
  local found = 0
  while found < limit and budget > 0 do
    local batch = rcall('ZRANGE', seatIndexKey, '(' .. last, '+inf', 'BYSCORE', 'LIMIT', 0, math.min(budget, 500), 'WITHSCORES')
    if #batch == 0 then
      exhausted = true
      break
    end
    for i = 1, #batch, 2 do
      local status = STATUS[string.sub(rcall('HGET', seatsKey, batch[i]), 1, 1)]
      last = tonumber(batch[i + 1])
      budget = budget - 1
      if wantedStatus == '' or wantedStatus == status then
        out[#out + 1] = batch[i]
        out[#out + 1] = status
        found = found + 1
        if found == limit then break end
      end
    end
  end
  if found == limit and rcall('ZCOUNT', seatIndexKey, '(' .. last, '+inf') == 0 then
    exhausted = true
  end
end

if not exhausted then
  out[5] = last
end
return out
