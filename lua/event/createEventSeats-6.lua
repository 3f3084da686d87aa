--[[
  Loads one chunk of a new event's seats (and the rows they sit in), under
  the creation claim taken by createEventBegin. The service sends chunks small
  enough that no call blocks Redis for more than a few milliseconds.

  Input:
    KEYS[1] creating   the creation claim
    KEYS[2] seats      hash seatId -> 'a'
    KEYS[3] avail      sorted set of available seats, score = seat index
    KEYS[4] seatIndex  sorted set of every seat, score = seat index
    KEYS[5] rows       layout rows (see includes/layout)
    KEYS[6] runs       run index (see includes/layout)

    ARGV[1] token      the creation's token
    ARGV[2] claimMs    the claim is renewed for this long
    ARGV[3] rowCount   rows defined by this chunk (0 for events without a layout)
    ARGV[4 .. 3 + 5 x rowCount]  per row: row, level, seats, sectionId, rowId
    then pairs: seat index, seatId

  Output:
    { 'OK', seatsLoaded }
    error 'CREATION_LOST' when the claim expired or belongs to another creation
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local creatingKey = KEYS[1]
local k = { seats = KEYS[2], avail = KEYS[3], seatIndex = KEYS[4], rows = KEYS[5], runs = KEYS[6] }

--- @include "includes/args"
--- @include "includes/layout"

-- Every argument checked before the first write.
local token, claimMs = argId('token', ARGV[1]), argInt('claimMs', ARGV[2], 1)
local rowCount = argInt('rowCount', ARGV[3], 0)
if #ARGV < 3 + 5 * rowCount or (#ARGV - 3 - 5 * rowCount) % 2 ~= 0 then
  argFail('ARGV', #ARGV, 'must be 3 + 5 per row + 2 per seat values')
end
for i = 4, 3 + 5 * rowCount, 5 do
  argInt('row', ARGV[i], 1, RUN_ROWS - 1)
  argInt('level', ARGV[i + 1], 1, RUN_BANDS - 1)
  argInt('seats', ARGV[i + 2], 1, ROW_SPAN - 1)
  argId('sectionId', ARGV[i + 3])
  argId('rowId', ARGV[i + 4])
end
for i = 4 + 5 * rowCount, #ARGV, 2 do
  argInt('seat index', ARGV[i], 1)
  argId('seatId', ARGV[i + 1])
end

if rcall('GET', creatingKey) ~= token then
  return redis.error_reply('CREATION_LOST the creation claim expired or was taken over')
end
rcall('PEXPIRE', creatingKey, claimMs)

for i = 4, 3 + 5 * rowCount, 5 do
  local row, level, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  rcall('HSET', k.rows, 'i' .. row, level .. '|' .. n .. '|' .. ARGV[i + 3] .. '|' .. ARGV[i + 4],
    'f' .. row, string.rep('1', n))
  reindexRow(k, row, level, 0, math.min(n, RUN_CAP))
end

-- HSET/ZADD a few hundred at a time: unpack() of a long list would overflow
-- Lua's C stack.
local BATCH = 500
local first = 4 + 5 * rowCount
local loaded = 0
for from = first, #ARGV, 2 * BATCH do
  local hashArgs, zsetArgs = {}, {}
  for i = from, math.min(from + 2 * BATCH - 1, #ARGV), 2 do
    hashArgs[#hashArgs + 1] = ARGV[i + 1]
    hashArgs[#hashArgs + 1] = 'a'
    zsetArgs[#zsetArgs + 1] = ARGV[i]
    zsetArgs[#zsetArgs + 1] = ARGV[i + 1]
  end
  rcall('HSET', k.seats, unpack(hashArgs))
  rcall('ZADD', k.avail, unpack(zsetArgs))
  rcall('ZADD', k.seatIndex, unpack(zsetArgs))
  loaded = loaded + #hashArgs / 2
end
return { 'OK', loaded }
