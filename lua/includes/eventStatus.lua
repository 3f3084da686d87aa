--[[
  eventStatus(metaKey, now): the event's status (CONTRACT "Event status"),
  decided here for every script: 'closed' from endsAt on (joins refused,
  nobody admitted), 'soldOut' when available == 0 and held == 0 (nothing can
  come back on sale: joins refused, nobody admitted), 'paused' (joins go on,
  nobody admitted), else 'open'. The event view shows the same value, and
  src/event/event-status.ts applies the same rule to a replica's snapshot.
  endsAt is Redis time in ms, 0 or missing for an event without an end.
]]
local function eventStatus(metaKey, now)
  local f = redis.call('HMGET', metaKey, 'endsAt', 'paused', 'available', 'held')
  local endsAt = tonumber(f[1] or '0')
  if endsAt > 0 and now >= endsAt then
    return 'closed'
  end
  if f[3] == '0' and f[4] == '0' then
    return 'soldOut'
  end
  if f[2] == '1' then
    return 'paused'
  end
  return 'open'
end
