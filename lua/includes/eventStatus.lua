--[[
  eventStatus(metaKey, now): the event's status (CONTRACT "Event status"),
  decided here for every script; src/event/event-status.ts is the same rule
  for the service (the event view, the queue head, ticket answers). Returns
  the status and the meta fields it read (f) for callers that need them.

  In order: 'closed' from endsAt on; 'soldOut' (available == 0 and held == 0:
  nothing can come back on sale); 'closed' while queueMethod is 'reject';
  'scheduled' before queueOpensAt; 'prequeue' before salesStartAt; 'paused';
  else 'open'. Times are Redis time in ms, 0 or missing for none.
  Both sides answer every vector of test/fixtures/event-status-vectors.json
  (test/event-status-vectors.e2e-spec.ts).
]]
local function eventStatus(metaKey, now)
  local r = redis.call('HMGET', metaKey, 'endsAt', 'paused', 'available', 'held', 'queueMethod',
    'queueOpensAt', 'salesStartAt')
  local f = { endsAt = tonumber(r[1] or '0'), paused = r[2] == '1', available = r[3], held = r[4],
    queueMethod = r[5] or 'fifo', queueOpensAt = tonumber(r[6] or '0'), salesStartAt = tonumber(r[7] or '0') }
  if f.endsAt > 0 and now >= f.endsAt then
    return 'closed', f
  end
  if f.available == '0' and f.held == '0' then
    return 'soldOut', f
  end
  if f.queueMethod == 'reject' then
    return 'closed', f
  end
  if f.queueOpensAt > 0 and now < f.queueOpensAt then
    return 'scheduled', f
  end
  if f.salesStartAt > 0 and now < f.salesStartAt then
    return 'prequeue', f
  end
  if f.paused then
    return 'paused', f
  end
  return 'open', f
end
