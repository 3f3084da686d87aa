--[[
  nowMs(): the Redis server's clock in whole milliseconds (from TIME), so every
  replica of the service stamps with one clock.
]]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
