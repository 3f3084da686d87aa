--[[
  The bare reference's enqueue (bench only, never loaded by the service): the
  idea behind the seed in its least form, to measure what a join costs
  without the service. Dedupe and append in one step.

  Input:
    KEYS[1] users    hash userId -> seq
    KEYS[2] stream   queue; entry id '<seq>-0', field u (userId)

    ARGV[1] userId

  Output:
    { 'OK', seq }
    { 'DUPLICATE', seq }
]]
local rcall = redis.call
local usersKey, streamKey = KEYS[1], KEYS[2]
local userId = ARGV[1]

local existing = rcall('HGET', usersKey, userId)
if existing then
  return { 'DUPLICATE', tonumber(existing) }
end
local seq = rcall('HLEN', usersKey) + 1
rcall('XADD', streamKey, seq .. '-0', 'u', userId)
rcall('HSET', usersKey, userId, seq)
return { 'OK', seq }
