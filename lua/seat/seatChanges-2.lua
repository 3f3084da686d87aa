--[[
  What changed in an event's seats since a replica's seat snapshot was made:
  the entries of the seat change log after version `from` (see
  includes/layout). The snapshot's refresh: one call, O(changes), reads only.

  Input:
    KEYS[1] meta       event hash ('createdAt', 'seatv', 'seatt')
    KEYS[2] rows       holds the change log ring ('c<v % SEAT_LOG_SIZE>', tags 't<v % SEAT_LOG_SIZE>')

    ARGV[1] from       the seat version the caller has (0 or more)
    ARGV[2] max        most entries returned (1..500)
    ARGV[3] tag        the tag of entry `from` as the caller saw it (from the
                       last reply it applied; '' for version 0 or an untagged entry)

  Output:
    { 'OK', createdAt, version, 1, tag, entry(from + 1), entry(from + 2), ... }
      up to `max` entries, oldest first, each the seats' new state ('a', 'h'
      or 's') followed by their ids, comma-separated; fewer than
      version - from when more than `max` are due (call again); tag: the tag
      of the last entry returned (of entry `from` when none), for the next call
    { 'OK', createdAt, version, 0 }
      the log no longer reaches back to `from` (SEAT_LOG_SIZE or more
      changes since, or `from` is ahead of Redis), or entry `from` is not the
      one the caller applied (its tag differs: Redis lost writes and reused
      the version): read the whole map again
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
local k = { meta = KEYS[1], rows = KEYS[2] }

--- @include "includes/args"
--- @include "includes/layout"

local from, max = argInt('from', ARGV[1], 0), argInt('max', ARGV[2], 1, 500)
local tag = ARGV[3] or ''

local m = rcall('HMGET', k.meta, 'createdAt', 'seatv', 'seatt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local version = tonumber(m[2] or 0)
-- Exactly SEAT_LOG_SIZE behind, entry `from`'s slot already holds entry `version`.
if from > version or version - from >= SEAT_LOG_SIZE then
  return { 'OK', m[1], version, 0 }
end
if from == version then
  -- Nothing new (the common case): the latest tag is in meta, no second read.
  if from > 0 and (m[3] or '') ~= tag then
    return { 'OK', m[1], version, 0 }
  end
  return { 'OK', m[1], version, 1, tag }
end
local last = math.min(version, from + max)
-- One HMGET: entry `from`'s tag (the check), the entries, then the last one's tag.
local fields = { 't' .. (from % SEAT_LOG_SIZE) }
for v = from + 1, last do
  fields[#fields + 1] = 'c' .. (v % SEAT_LOG_SIZE)
end
fields[#fields + 1] = 't' .. (last % SEAT_LOG_SIZE)
local got = rcall('HMGET', k.rows, unpack(fields))
if from > 0 and (got[1] or '') ~= tag then
  return { 'OK', m[1], version, 0 }
end
local out = { 'OK', m[1], version, 1, got[#got] or '' }
for i = 2, #got - 1 do
  out[#out + 1] = got[i]
end
return out
