--[[
  The first answer of a request sent with an Idempotency-Key, kept so that a
  retry with the same key gets it again (hold and confirm).

  rememberAnswer(idemKey, ttlSeconds, parts): stores the answer's parts.
  idempotentAnswer(idemKey): the stored parts as a table, or nil.
  Parts are never empty and never contain '|' (ids, numbers, comma-separated
  seat ids).
]]
local function rememberAnswer(idemKey, ttlSeconds, parts)
  redis.call('SET', idemKey, table.concat(parts, '|'), 'EX', ttlSeconds)
end

local function idempotentAnswer(idemKey)
  local stored = redis.call('GET', idemKey)
  if not stored then
    return nil
  end
  local parts = {}
  for part in string.gmatch(stored, '[^|]+') do
    parts[#parts + 1] = part
  end
  return parts
end
