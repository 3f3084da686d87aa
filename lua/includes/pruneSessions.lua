--[[
  pruneSessions(activeKey, sessionsKey, usersKey, now, limit): ends at most
  `limit` admitted sessions whose end time has passed, freeing the user's
  dedupe entry so that the user may join again. Returns how many it ended.
]]
local function pruneSessions(activeKey, sessionsKey, usersKey, now, limit)
  local ended = redis.call('ZRANGEBYSCORE', activeKey, '-inf', now, 'LIMIT', 0, limit)
  for _, seq in ipairs(ended) do
    local session = redis.call('HGET', sessionsKey, seq)
    if session then
      local userId = string.sub(session, string.find(session, '|', 1, true) + 1)
      if redis.call('HGET', usersKey, userId) == seq then
        redis.call('HDEL', usersKey, userId)
      end
      redis.call('HDEL', sessionsKey, seq)
    end
    redis.call('ZREM', activeKey, seq)
  end
  return #ended
end
