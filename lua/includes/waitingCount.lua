--[[
  waitingCount(queueKind, streamKey, zqueueKey, pqWaiting): how many people
  wait, in the queue (its backend's length) and in the pre-queue (pqWaiting,
  the event hash's count of pre-queue entries still waiting; nil counts 0).
]]
local function waitingCount(queueKind, streamKey, zqueueKey, pqWaiting)
  local queued = queueKind == 'streams' and redis.call('XLEN', streamKey) or redis.call('ZCARD', zqueueKey)
  return queued + tonumber(pqWaiting or '0')
end
