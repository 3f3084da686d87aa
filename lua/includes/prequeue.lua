--[[
  The pre-queue (fair start). Joins before salesStartAt are kept in the
  sorted set `prequeue`, all with score 0, member '<sortKey>:<pn>': Redis
  orders equal scores by member bytes, so the set is always in the order of
  the committed shuffle (sortKey = hex HMAC-SHA256(seed, eventId:userId),
  computed by the service, which alone reads the seed). `pqrecs` maps the
  pre-queue number pn to '<sortKey>|<fingerprint>|<userId>' while the entry
  waits and to '=<seq>' once admitted (so its 'p' ticket still finds the
  session). The event hash counts the entries still waiting in 'pqWaiting'
  (the event view and the queue head add it to the number waiting).

  sealPrequeue(metaKey, prequeueKey, now): at salesStartAt (Redis time), the
  first script that runs seals the pre-queue in O(1): it reserves the
  sequences pqBase+1 .. pqBase+pqCount for its entries in rank order, so
  every later join (seq > pqBase+pqCount) comes behind all of them. Nothing
  is moved: the admitter takes entries from the front of the set in order
  ('pqTaken' so far); an entry of rank r (1-based, at the seal) has the
  sequence pqBase + r, so position = seq - head as for any Streams ticket.
  After the seal a leave keeps its member as a placeholder (removing it
  would shift every rank behind it) and only deletes its record.
  Returns pqBase, pqCount, pqTaken (nil while not sealed).
]]
local function sealPrequeue(metaKey, prequeueKey, now)
  local f = redis.call('HMGET', metaKey, 'salesStartAt', 'pqSealed', 'seq', 'pqBase', 'pqCount', 'pqTaken')
  if f[2] == '1' then
    return tonumber(f[4]), tonumber(f[5]), tonumber(f[6])
  end
  local start = tonumber(f[1] or '0')
  if start == 0 or now < start then
    return nil
  end
  local base, count = tonumber(f[3]), redis.call('ZCARD', prequeueKey)
  redis.call('HSET', metaKey, 'pqSealed', 1, 'pqBase', base, 'pqCount', count, 'pqTaken', 0, 'seq', base + count)
  return base, count, 0
end

-- pn from a member '<sortKey>:<pn>'; the sort key from a record.
local function memberPn(member)
  return string.sub(member, 66)
end

-- '<sortKey>|<fingerprint>|<userId>' -> sortKey, fingerprint, userId (nil for '=<seq>')
local function splitPrequeueRecord(record)
  if string.sub(record, 1, 1) == '=' then
    return nil
  end
  local bar = string.find(record, '|', 66, true)
  return string.sub(record, 1, 64), string.sub(record, 66, bar - 1), string.sub(record, bar + 1)
end

-- The sequence a waiting pre-queue entry holds after the seal: pqBase + its rank.
local function prequeueSeq(prequeueKey, sortKey, pn, base, taken)
  local rank = redis.call('ZRANK', prequeueKey, sortKey .. ':' .. pn)
  if not rank then
    return nil
  end
  return base + taken + rank + 1
end
