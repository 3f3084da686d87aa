--[[
  What changed in an event's seats since a replica's seat snapshot was made:
  the entries of the seat change log after version `from` (see
  includes/layout). The snapshot's refresh: one call, O(changes), reads only.

  Input:
    KEYS[1] meta       event hash ('createdAt', 'seatv')
    KEYS[2] rows       holds the change log ring ('c<v % SEAT_LOG_SIZE>')

    ARGV[1] from       the seat version the caller has (0 or more)
    ARGV[2] max        most entries returned (1..500)

  Output:
    { 'OK', createdAt, version, 1, entry(from + 1), entry(from + 2), ... }
      up to `max` entries, oldest first, each the seats' new state ('a', 'h'
      or 's') followed by their ids, comma-separated; fewer than
      version - from when more than `max` are due (call again)
    { 'OK', createdAt, version, 0 }
      the log no longer reaches back to `from` (more than SEAT_LOG_SIZE
      changes since, or `from` is ahead of Redis): read the whole map again
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local k = { meta = KEYS[1], rows = KEYS[2] }

--- @include "includes/args"
--- @include "includes/layout"

local from, max = argInt('from', ARGV[1], 0), argInt('max', ARGV[2], 1, 500)

local m = rcall('HMGET', k.meta, 'createdAt', 'seatv')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local version = tonumber(m[2] or 0)
if from > version or version - from > SEAT_LOG_SIZE then
  return { 'OK', m[1], version, 0 }
end
local out = { 'OK', m[1], version, 1 }
local fields = {}
for v = from + 1, math.min(version, from + max) do
  fields[#fields + 1] = 'c' .. (v % SEAT_LOG_SIZE)
end
if #fields > 0 then
  for _, entry in ipairs(rcall('HMGET', k.rows, unpack(fields))) do
    out[#out + 1] = entry
  end
end
return out
