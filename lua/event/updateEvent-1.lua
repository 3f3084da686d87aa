--[[
  Changes an event's settings (PATCH). Only the fields given change; the
  admitter and the seat scripts read them on their next call.

  Input:
    KEYS[1] meta      event hash
    ARGV[1..] field, value pairs among holdTtlSeconds, maxSeatsPerUser,
              ratePerSecond, maxActive, sessionTtlSeconds, paused (0|1),
              queueMethod (switching moves nobody: see admit-10.lua)
              (names and ranges checked by the service)

  Output:
    { 'OK' }
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local metaKey = KEYS[1]

if rcall('EXISTS', metaKey) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
if #ARGV > 0 then
  rcall('HSET', metaKey, unpack(ARGV))
end
return { 'OK' }
