--[[
  findTicket(queueKind, seq, head, k, now): where the ticket of arrival `seq`
  stands. Returns 'waiting', position, userId | 'active', sessionEnd, userId | nil.
  The service has verified the ticket's MAC (and the scripts its event's
  createdAt) before: here only the entry is looked up. k holds the keys
  stream, zqueue, zwait, active, sessions.
]]
local function splitRecord(record)
  local bar = string.find(record, '|', 1, true)
  return string.sub(record, 1, bar - 1), string.sub(record, bar + 1)
end

local function findTicket(queueKind, seq, head, k, now)
  local session = redis.call('HGET', k.sessions, seq)
  if session then
    local _, userId = splitRecord(session)
    local sessionEnd = tonumber(redis.call('ZSCORE', k.active, seq))
    if sessionEnd and sessionEnd > now then
      return 'active', sessionEnd, userId
    end
    return nil
  end
  if queueKind == 'streams' then
    local entries = redis.call('XRANGE', k.stream, seq .. '-0', seq .. '-0')
    local entry = entries[1]
    -- entry = { id, { 'u', userId [, 'k', fingerprint] } }
    if entry and tonumber(seq) > head then
      return 'waiting', tonumber(seq) - head, entry[2][2]
    end
    return nil
  end
  local record = redis.call('HGET', k.zwait, seq)
  if record then
    local _, userId = splitRecord(record)
    return 'waiting', redis.call('ZRANK', k.zqueue, seq) + 1, userId
  end
  return nil
end
