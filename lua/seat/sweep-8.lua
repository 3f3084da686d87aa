--[[
  Returns the seats of expired holds to sale. The background sweeper calls it
  for every event with seats held at least once a second, so seats come back
  with no traffic at all (keyspace notifications are not used: they are lost
  when nobody listens). It reads only the live-hold index, never a hold's record, so a
  hold whose record is gone still gives its seats back (CONTRACT invariant 9).

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

    ARGV[1] limit       most holds expired by this call (>= 1)
    ARGV[2] maxSeats    stop after the hold that brings the seats returned to
                        this many (>= 1; a hold is never split)

  Output:
    { 'OK', holdsExpired, liveHolds, stillDue }   liveHolds: holds in the index
                        after the sweep; stillDue: how many of them are past
                        their expiresAt (the caller sweeps again while any are)
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call

--- @include "includes/args"
--- @include "includes/now"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"

local limit = argInt('limit', ARGV[1], 1)
local maxSeats = argInt('maxSeats', ARGV[2], 1)

local k = seatKeys(unpack(KEYS, 1, 8))
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
local now = nowMs()
local expired = sweepExpiredHolds(k, now, limit, maxSeats)
return { 'OK', expired, rcall('ZCARD', k.holds), rcall('ZCOUNT', k.holds, '-inf', now) }
