--[[
  Counts a join against its client address's budget for the current window
  (JOIN_RATE_PER_MINUTE): a fixed window that starts with the address's first
  join and lasts ARGV[2] ms. The counter is its own key (not an event's), so
  every replica shares it; a join this limit refuses does not add to it.

  Input:
    KEYS[1] counter   string: joins from this address in the current window

    ARGV[1] limit     joins allowed per window (> 0)
    ARGV[2] windowMs  the window's length (ms)

  Output:
    { 'OK', count }                 counted; count is this join's number in the window
    { 'RATE_LIMITED', retryAfterMs } over the limit until the window ends
]]
local rcall = redis.call
local counterKey = KEYS[1]
local limit, windowMs = tonumber(ARGV[1]), tonumber(ARGV[2])

local count = tonumber(rcall('GET', counterKey) or '0')
if count >= limit then
  local ttl = rcall('PTTL', counterKey)
  if ttl < 0 then
    -- Cannot happen (the counter is set with its expiry below), but never leave it without one.
    rcall('PEXPIRE', counterKey, windowMs)
    ttl = windowMs
  end
  return { 'RATE_LIMITED', ttl }
end
count = rcall('INCR', counterKey)
if count == 1 then
  rcall('PEXPIRE', counterKey, windowMs)
end
return { 'OK', count }
