--[[
  sweepExpiredHolds(k, now, limit): returns to sale the seats of at most
  `limit` holds whose expiresAt has passed. The hold record stays, marked
  'expired', for EXPIRED_HOLD_TTL seconds so that a late confirm gets
  HOLD_EXPIRED rather than HOLD_NOT_FOUND. Returns how many holds it expired.

  k is the table of the event's keys (see seatKeys in the calling script):
  k.meta, k.seats, k.avail, k.seatIndex, k.holds, k.userSeats, k.rows, k.runs,
  k.holdPrefix.
]]
--- @include "includes/layout"
local EXPIRED_HOLD_TTL = 3600

local function releaseHoldSeats(k, holdId, seatList, userId)
  -- Puts the seats of one hold back on sale; shared by release and expiry.
  local count, released = 0, {}
  for seatId in string.gmatch(seatList, '[^,]+') do
    if redis.call('HGET', k.seats, seatId) == 'h:' .. holdId then
      redis.call('HSET', k.seats, seatId, 'a')
      redis.call('ZADD', k.avail, redis.call('ZSCORE', k.seatIndex, seatId), seatId)
      count = count + 1
      released[count] = seatId
    end
  end
  seatsMoved(k, released, 'h', 'a')
  redis.call('HINCRBY', k.meta, 'held', -count)
  redis.call('HINCRBY', k.meta, 'available', count)
  if redis.call('HINCRBY', k.userSeats, userId, -count) <= 0 then
    redis.call('HDEL', k.userSeats, userId)
  end
  redis.call('ZREM', k.holds, holdId)
  return count
end

-- Expires one live hold: its seats go back on sale and the record is kept,
-- marked 'expired', for EXPIRED_HOLD_TTL seconds. Shared by the sweep and by
-- a confirm that finds its hold past due before the sweep reached it.
local function expireHold(k, holdId, seatList, userId)
  local holdKey = k.holdPrefix .. holdId
  releaseHoldSeats(k, holdId, seatList, userId)
  redis.call('HSET', holdKey, 'state', 'expired')
  redis.call('EXPIRE', holdKey, EXPIRED_HOLD_TTL)
end

local function sweepExpiredHolds(k, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', k.holds, '-inf', now, 'LIMIT', 0, limit)
  for _, holdId in ipairs(expired) do
    local hold = redis.call('HMGET', k.holdPrefix .. holdId, 'userId', 'seatIds')
    if hold[1] then
      expireHold(k, holdId, hold[2], hold[1])
    else
      redis.call('ZREM', k.holds, holdId)
    end
  end
  return #expired
end
