--- @include "includes/holdIndex"
--[[
  A hold's own record (its hash: userId, sessionId, seatIds, expiresAt, state,
  and once confirmed orderId, confirmedAt, amount, currency), as the scripts
  that act on a caller's hold (release, confirm) read it.

  callersHold(holdKey, userId, sessionId, ...): reads 'userId', 'seatIds',
    'state' and then the further fields named, in that order (HMGET).
    Returns them, or nil and the refusal: 'HOLD_NOT_FOUND' when there is no
    record, 'NOT_OWNER' when it is another user's hold or another session's:
    a hold belongs to the session that made it, so someone who joins later
    under the same user id (anonymous mode) cannot touch it. Reads only.
  holdIsLive(k, holdId, userId, hold): whether the hold read by callersHold
    is still live: in state 'held' and its member still in the live-hold
    index (a held record whose member left the index was swept: its seats
    are back on sale).
]]
local function callersHold(holdKey, userId, sessionId, ...)
  local hold = redis.call('HMGET', holdKey, 'userId', 'seatIds', 'state', 'sessionId', ...)
  if not hold[1] then
    return nil, 'HOLD_NOT_FOUND'
  end
  if hold[1] ~= userId or hold[4] ~= sessionId then
    return nil, 'NOT_OWNER'
  end
  table.remove(hold, 4)
  return hold
end

local function holdIsLive(k, holdId, userId, hold)
  if hold[3] ~= 'held' then
    return false
  end
  return redis.call('ZSCORE', k.holds, holdMember(holdId, userId, hold[2])) and true or false
end
