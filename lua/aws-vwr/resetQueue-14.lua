--[[
  AWS's reset_initial_state: empties the event's queue, pre-queue, sessions
  and the counters behind them (arrival sequence, serving head), so the next
  place is number 1 again. Seats, holds and orders stay. Refused while holds
  are live (their buyers' sessions would vanish under them).

  The event's creation time moves on (createdAt, at least the Redis time):
  tickets and request ids are signed for it, so every one handed out before
  the reset is refused afterwards, even when a new join reuses its sequence,
  and the replicas' snapshots start afresh as for a re-created event.
  Big keys go by UNLINK (freed off Redis's main thread), so this stays short.

  Input:
    KEYS[1] meta       event hash
    KEYS[2] users      KEYS[3] stream   KEYS[4] zqueue   KEYS[5] zwait
    KEYS[6] active     KEYS[7] sessions KEYS[8] left     KEYS[9] prequeue
    KEYS[10] pqrecs    KEYS[11] nonces  KEYS[12] pnonces
                       the queue's keys (see admit-12.lua), all removed
    KEYS[13] holds     sorted set holdId -> expiresAt (ms): read only
    KEYS[14] ledger    AWS tokens handed out (tokenLedger-1.lua), removed

  Output:
    { 'OK', createdAtMs }
    { 'EVENT_ACTIVE', liveHolds }   nothing written
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local metaKey, holdsKey, ledgerKey = KEYS[1], KEYS[13], KEYS[14]

--- @include "includes/now"

local m = rcall('HMGET', metaKey, 'createdAt', 'pqSealed')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local now = nowMs()
local holds = rcall('ZCOUNT', holdsKey, '(' .. now, '+inf')
if holds > 0 then
  return { 'EVENT_ACTIVE', holds }
end
rcall('UNLINK', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], ledgerKey)
local createdAt = math.max(tonumber(m[1]) + 1, now)
rcall('HSET', metaKey, 'createdAt', createdAt, 'seq', 0, 'head', 0, 'drained', 0, 'lastScore', 0,
  'leftVersion', 0, 'sessionsUntil', 0, 'pseq', 0, 'pqWaiting', 0)
if m[2] == '1' then
  rcall('HSET', metaKey, 'pqBase', 0, 'pqCount', 0, 'pqTaken', 0)
end
return { 'OK', createdAt }
