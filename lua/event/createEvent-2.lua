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
    ARGV[9] endsAt     Redis time (ms) from which the event is closed; 0 for no end
    ARGV[10] powBits   join challenge difficulty (0: none)
    ARGV[11..] more meta fields as name, value pairs (the layout: see includes/layout)

  Output:
    { 'OK', capacity, createdAtMs }
    { 'EVENT_EXISTS' }   the claim expired or was taken over (nothing is written)
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local metaKey, creatingKey = KEYS[1], KEYS[2]

--- @include "includes/args"
--- @include "includes/now"

local token = argId('token', ARGV[1])
local queueKind = argOneOf('queue', ARGV[2], { 'streams', 'zset' })
local holdTtlSeconds, maxSeatsPerUser = argInt('holdTtlSeconds', ARGV[3], 1), argInt('maxSeatsPerUser', ARGV[4], 1)
local ratePerSecond, maxActive = argInt('ratePerSecond', ARGV[5], 1), argInt('maxActive', ARGV[6], 1)
local sessionTtlSeconds = argInt('sessionTtlSeconds', ARGV[7], 1)
local capacity = argInt('capacity', ARGV[8], 1)
if #ARGV < 10 or (#ARGV - 10) % 2 ~= 0 then
  argFail('ARGV', #ARGV, 'meta fields must come as name, value pairs')
end

local endsAt = argInt('endsAt', ARGV[9], 0)
local powBits = argInt('powBits', ARGV[10], 0)

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
  'endsAt', endsAt,
  'powBits', powBits,
  'rev', 0)
for i = 11, #ARGV, 2 do
  rcall('HSET', metaKey, ARGV[i], ARGV[i + 1])
end
rcall('DEL', creatingKey)
return { 'OK', capacity, createdAt }
