--[[
  Random numbers for admission draws (queueMethod random), from randomness
  the service passes in: Lua's math.random is seeded with a constant when
  Redis starts, so its draws repeat after every restart or failover and can
  be predicted. Here draw i is the first 48 bits of SHA1(seed .. ':' .. i),
  with seed 128 random bits from the service's CSPRNG, fresh for every call:
  nobody outside the service can predict or replay them.

  randomBelow(seed, n): a uniform whole number in [0, n), 1 <= n <= 2^32.
  Exactly uniform: values past the largest multiple of n under 2^48 are
  drawn again (rarely: a fraction n / 2^48 at most).
]]
local randomDraws = 0
local function randomBelow(seed, n)
  local limit = n * math.floor(281474976710656 / n)
  while true do
    randomDraws = randomDraws + 1
    local x = tonumber(string.sub(redis.sha1hex(seed .. ':' .. randomDraws), 1, 12), 16)
    if x < limit then
      return x % n
    end
  end
end
