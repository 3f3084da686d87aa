--[[
  waitingPosition(queueKind, seq, head, zqueueKey, zwaitKey): the 1-based
  place of a waiting entry, or nil when the entry no longer waits.

  Streams: entries past `head` (the last sequence the admitter took) wait;
  the place is seq - head, O(1). Users who left ahead are still counted, so
  the place is an upper bound that only ever falls.
  Sorted set: ZRANK, O(log n), exact.
]]
local function waitingPosition(queueKind, seq, head, zqueueKey, zwaitKey)
  if queueKind == 'streams' then
    local n = tonumber(seq)
    if n > head then
      return n - head
    end
    return nil
  end
  local rank = redis.call('ZRANK', zqueueKey, seq)
  if rank then
    return rank + 1
  end
  return nil
end
