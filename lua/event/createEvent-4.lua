--[[
  Creates an event: its configuration, its seat inventory and its counters,
  all at once or not at all.

  Input:
    KEYS[1] meta       event hash: config, counters, queue sequence
    KEYS[2] seats      hash seatId -> 'a' (available) | 'h:<holdId>' | 's:<orderId>'
    KEYS[3] avail      sorted set of available seats, score = seat index
    KEYS[4] seatIndex  sorted set of every seat, score = seat index (paging, re-adding)

    ARGV[1] queue backend: 'streams' | 'zset'
    ARGV[2] holdTtlSeconds
    ARGV[3] maxSeatsPerUser
    ARGV[4] ratePerSecond
    ARGV[5] maxActive
    ARGV[6] sessionTtlSeconds
    ARGV[7] capacity: n > 0 names the seats GA-1..GA-n; 0 means ARGV[15..] lists them
    ARGV[8] powBits   join challenge difficulty (0: none)
    ARGV[9] endsAt: Redis time (ms) from which the event is closed; 0 for no end
    ARGV[10] queueOpensAt (ms): joins before it get QUEUE_NOT_OPEN; 0 for none
    ARGV[11] salesStartAt (ms): joins before it enter the pre-queue; 0 for none
    ARGV[12] queueMethod: 'fifo' | 'random' | 'passthrough' | 'reject'
    ARGV[13] seed: 64 hex digits (the pre-queue shuffle's, secret until salesStartAt), or ''
    ARGV[14] commitment: hex SHA-256 of the seed's bytes, or ''
    ARGV[15..] seat ids, when ARGV[7] is 0 (unique: checked by the service)

  Output:
    { 'OK', capacity, createdAtMs }
    { 'EVENT_EXISTS' }   also while an event of this id is still being deleted
    error reply 'ERR bad argument ...' for a malformed time or method (nothing written)
]]
local rcall = redis.call
local metaKey, seatsKey, availKey, seatIndexKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local queueKind = ARGV[1]
local holdTtlSeconds, maxSeatsPerUser = ARGV[2], ARGV[3]
local ratePerSecond, maxActive, sessionTtlSeconds = ARGV[4], ARGV[5], ARGV[6]
local generatedCapacity, powBits = tonumber(ARGV[7]), ARGV[8]

--- @include "includes/args"
--- @include "includes/now"

local endsAt = argInt('endsAt', ARGV[9], 0)
local queueOpensAt, salesStartAt = argInt('queueOpensAt', ARGV[10], 0), argInt('salesStartAt', ARGV[11], 0)
local queueMethod = argOneOf('queueMethod', ARGV[12], { 'fifo', 'random', 'passthrough', 'reject' })
local seed, commitment = ARGV[13] or '', ARGV[14] or ''

-- A deleted event's seat index goes last (deleteEvent-4.lua): until then its
-- remains are still being removed and must not mix with a new event.
if rcall('EXISTS', metaKey) == 1 or rcall('EXISTS', seatIndexKey) == 1 then
  return { 'EVENT_EXISTS' }
end

-- HSET/ZADD in chunks: one call per seat is slow at 100,000 seats, and unpack()
-- of the whole list would overflow Lua's C stack.
local CHUNK = 500
local hashArgs, zsetArgs, capacity = {}, {}, 0
local function flush()
  if #hashArgs > 0 then
    rcall('HSET', seatsKey, unpack(hashArgs))
    rcall('ZADD', availKey, unpack(zsetArgs))
    rcall('ZADD', seatIndexKey, unpack(zsetArgs))
    hashArgs, zsetArgs = {}, {}
  end
end
local function addSeat(seatId)
  capacity = capacity + 1
  hashArgs[#hashArgs + 1] = seatId
  hashArgs[#hashArgs + 1] = 'a'
  zsetArgs[#zsetArgs + 1] = capacity
  zsetArgs[#zsetArgs + 1] = seatId
  if capacity % CHUNK == 0 then flush() end
end

if generatedCapacity > 0 then
  for i = 1, generatedCapacity do addSeat('GA-' .. i) end
else
  for i = 15, #ARGV do addSeat(ARGV[i]) end
end
flush()

local createdAt = nowMs()
rcall('HSET', metaKey,
  'queue', queueKind,
  'holdTtlSeconds', holdTtlSeconds,
  'maxSeatsPerUser', maxSeatsPerUser,
  'ratePerSecond', ratePerSecond,
  'maxActive', maxActive,
  'sessionTtlSeconds', sessionTtlSeconds,
  'paused', 0,
  'endsAt', endsAt,
  'queueOpensAt', queueOpensAt,
  'salesStartAt', salesStartAt,
  'queueMethod', queueMethod,
  'seed', seed,
  'commitment', commitment,
  'capacity', capacity,
  'available', capacity,
  'held', 0,
  'sold', 0,
  'seq', 0,
  'head', 0,
  'lastScore', 0,
  'tokens', 0,
  'tokensAt', createdAt,
  'createdAt', createdAt,
  'powBits', powBits)
return { 'OK', capacity, createdAt }
