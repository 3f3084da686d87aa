--[[
  Join nonces (invariant 11: a place belongs to the join that made it). The
  service draws a random 32-bit nonce (1 .. 2^32 - 1) for every join and
  signs it into the ticket; the join script stores it as 4 bytes
  (big-endian) at offset 4·n of a per-event string: `nonces` by arrival
  sequence, `pnonces` by pre-queue number. A ticket is its join's only if
  its nonce equals the stored one: after Redis lost recent writes, a later
  join reusing the number stores another nonce, so the lost ticket is
  refused. Replicas read the strings as they grow (queueHead) and compare
  in memory. Unwritten bytes read as 0, which no nonce is.

  writeNonce(key, n, nonce): O(1) (SETRANGE; the string grows at its end).
  readNonce(key, n): the stored nonce, 0 when none. O(1).
  argNonce(name, value): checks a nonce argument; returns it.
]]
local function writeNonce(key, n, nonce)
  redis.call('SETRANGE', key, 4 * n, struct.pack('>I4', nonce))
end

local function readNonce(key, n)
  local bytes = redis.call('GETRANGE', key, 4 * n, 4 * n + 3)
  if #bytes < 4 then
    return 0
  end
  return (struct.unpack('>I4', bytes))
end

local function argNonce(name, value)
  return argInt(name, value, 1, 4294967295)
end
