--[[
  findTicket(queueKind, seq, secret, head, k, now): where a ticket stands.
  Returns 'waiting', position, userId | 'active', sessionEnd, userId | nil.
  The secret must match the stored one: a guessed '<seq>.<anything>' finds
  nothing. k holds the keys stream, zqueue, zwait, active, sessions.
]]
local function splitRecord(record)
  local bar = string.find(record, '|', 1, true)
  return string.sub(record, 1, bar - 1), string.sub(record, bar + 1)
end

local function findTicket(queueKind, seq, secret, head, k, now)
  local session = redis.call('HGET', k.sessions, seq)
  if session then
    local storedSecret, userId = splitRecord(session)
    local sessionEnd = tonumber(redis.call('ZSCORE', k.active, seq))
    if storedSecret == secret and sessionEnd and sessionEnd > now then
      return 'active', sessionEnd, userId
    end
    return nil
  end
  if queueKind == 'streams' then
    local entries = redis.call('XRANGE', k.stream, seq .. '-0', seq .. '-0')
    local entry = entries[1]
    -- entry = { id, { 'u', userId, 't', secret } }
    if entry and entry[2][4] == secret and tonumber(seq) > head then
      return 'waiting', tonumber(seq) - head, entry[2][2]
    end
    return nil
  end
  local record = redis.call('HGET', k.zwait, seq)
  if record then
    local storedSecret, userId = splitRecord(record)
    if storedSecret == secret then
      return 'waiting', redis.call('ZRANK', k.zqueue, seq) + 1, userId
    end
  end
  return nil
end
