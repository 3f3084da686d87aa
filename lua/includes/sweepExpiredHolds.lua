-- How many expired holds, and about how many of their seats, a seat
-- operation reclaims before its own work; the background sweeper takes the
-- rest, every event at least once a second.
local INLINE_SWEEP_LIMIT = 50
local INLINE_SWEEP_SEATS = 50
--- @include "includes/now"
--- @include "includes/holdIndex"
--- @include "includes/layout"
--[[
  Returning held seats to sale, through the live-hold index (see holdIndex);
  these functions touch only the event's seat keys, in the table k every
  caller passes (see seatKeys); a venue's rows, run index and
  per-level counters move with the seats (see layout).

  releaseHoldSeats(k, holdId, userId, seatList): puts the seats still held
    by this hold back on sale, fixes the counters and the user's count, and
    drops the hold from the index. Returns how many seats came back.
  sweepExpiredHolds(k, now, limit, maxSeats): does that for at most `limit`
    holds whose expiresAt has passed, stopping after the hold that brings the
    seats returned to `maxSeats` or more (a hold is never split; a seat's
    return costs far more than a hold's, up to 20 seats a hold, and more on a
    layout). Returns how many holds it expired.
  reclaimDueHolds(k): what a seat operation does before its own work (once
    the event is known to exist): sweepExpiredHolds at the Redis time for at
    most INLINE_SWEEP_LIMIT holds and INLINE_SWEEP_SEATS seats. Returns that
    time (ms, see includes/now).

  The hold's record (its own hash) is left alone: it carries a TTL from the
  moment it is made, and a late confirm tells an expired hold by its absence
  from the index (HOLD_EXPIRED).
]]
local function releaseHoldSeats(k, holdId, userId, seatList)
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
  redis.call('ZREM', k.holds, holdMember(holdId, userId, seatList))
  return count
end

local function sweepExpiredHolds(k, now, limit, maxSeats)
  local due = redis.call('ZRANGEBYSCORE', k.holds, '-inf', now, 'LIMIT', 0, limit)
  local seats = 0
  for i, member in ipairs(due) do
    local holdId, userId, seatList = parseHoldMember(member)
    if holdId then
      seats = seats + releaseHoldSeats(k, holdId, userId, seatList)
    else
      -- Names no seats (not written by this version): nothing to return.
      redis.call('ZREM', k.holds, member)
    end
    if seats >= maxSeats then
      return i
    end
  end
  return #due
end

local function reclaimDueHolds(k)
  local now = nowMs()
  sweepExpiredHolds(k, now, INLINE_SWEEP_LIMIT, INLINE_SWEEP_SEATS)
  return now
end
