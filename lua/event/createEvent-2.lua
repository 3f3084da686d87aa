--[[
  Last step of creating an event: writes its configuration and counters,
  which makes it exist (every script checks meta first), and drops the
  creation claim. The seats were loaded before by createEventSeats.

  Input:
    KEYS[1] meta       event hash: config, counters, queue sequence
    KEYS[2] creating   the creation claim

    ARGV[1] token      the creation's token
    ARGV[2] queue backend: 'streams' | 'zset'
    ARGV[3] holdTtlSeconds
    ARGV[4] maxSeatsPerUser
    ARGV[5] ratePerSecond
    ARGV[6] maxActive
    ARGV[7] sessionTtlSeconds
    ARGV[8] capacity   seats loaded
    ARGV[9..] more meta fields as name, value pairs (the layout: see includes/layout)

  Output:
    { 'OK', capacity, createdAtMs }
    { 'EVENT_EXISTS' }   the claim expired or was taken over (nothing is written)
]]
local rcall = redis.call
local metaKey, creatingKey = KEYS[1], KEYS[2]
local token, queueKind = ARGV[1], ARGV[2]
local holdTtlSeconds, maxSeatsPerUser = ARGV[3], ARGV[4]
local ratePerSecond, maxActive, sessionTtlSeconds = ARGV[5], ARGV[6], ARGV[7]
local capacity = tonumber(ARGV[8])

--- @include "includes/now"

if rcall('GET', creatingKey) ~= token or rcall('EXISTS', metaKey) == 1 then
  return { 'EVENT_EXISTS' }
end

local createdAt = nowMs()
rcall('HSET', metaKey,
  'queue', queueKind,
  'holdTtlSeconds', holdTtlSeconds,
  'maxSeatsPerUser', maxSeatsPerUser,
  'ratePerSecond', ratePerSecond,
  'maxActive', maxActive,
  'sessionTtlSeconds', sessionTtlSeconds,
  'paused', 0,
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
  'rev', 0)
for i = 9, #ARGV, 2 do
  rcall('HSET', metaKey, ARGV[i], ARGV[i + 1])
end
rcall('DEL', creatingKey)
return { 'OK', capacity, createdAt }
