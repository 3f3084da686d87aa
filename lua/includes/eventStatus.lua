--[[
  eventStatus(metaKey, now): the event's status (CONTRACT "Event status"),
  decided here for every script: 'closed' from endsAt on (joins refused,
  nobody admitted), 'paused' (joins go on, nobody admitted), else 'open'.
  The event view shows the same value. Later statuses ('soldOut',
  'scheduled', 'prequeue') belong here too, so the scripts cannot disagree.
  endsAt is Redis time in ms, 0 or missing for an event without an end.
]]
local function eventStatus(metaKey, now)
  local f = redis.call('HMGET', metaKey, 'endsAt', 'paused')
  local endsAt = tonumber(f[1] or '0')
  if endsAt > 0 and now >= endsAt then
    return 'closed'
  end
  if f[2] == '1' then
    return 'paused'
  end
  return 'open'
end
