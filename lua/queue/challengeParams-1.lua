--[[
  What issuing a join challenge needs: the event's difficulty and the Redis
  clock (the challenge's expiry is checked against it at the join), and the
  event's createdAt (a challenge is good only for the event created then, not
  for one deleted and created again under the same id). Reads only.

  Input:
    KEYS[1] meta      event hash (powBits)

  Output:
    { 'OK', difficultyBits, nowMs, createdAtMs }
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local metaKey = KEYS[1]

--- @include "includes/now"

local m = rcall('HMGET', metaKey, 'queue', 'powBits', 'createdAt')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
return { 'OK', tonumber(m[2] or '0'), nowMs(), tonumber(m[3]) }
