--[[
  Claims the event's lost-record check (CONTRACT invariant 9) for the next
  `periodMs`: the sweeper of every replica asks each tick while the event has
  live holds, and only the replica that gets the claim looks for every live
  hold's record (src/seat/seat.repository.ts reclaimLostHolds). So an event
  costs one look per period however many replicas sweep it.

  The claim is a key of its own that expires by itself: housekeeping, written
  up to four times a second while holds are live and never by a request, so it is
  kept out of the event hash (whose fields requests change and tests compare).

  Input:
    KEYS[1] meta         event hash (only read: no claim for an event being deleted)
    KEYS[2] recordCheck  the claim (a string, PX periodMs)

    ARGV[1] periodMs     how long the claim lasts (>= 1)

  Output:
    { 'OK', 1 }   claimed: this caller looks for the records now
    { 'OK', 0 }   another caller claimed it less than periodMs ago
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local metaKey, claimKey = KEYS[1], KEYS[2]

--- @include "includes/args"

local periodMs = argInt('periodMs', ARGV[1], 1)

if rcall('EXISTS', metaKey) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
return { 'OK', rcall('SET', claimKey, '1', 'NX', 'PX', periodMs) and 1 or 0 }
