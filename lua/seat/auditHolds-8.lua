--[[
  The audit, one chunk of live holds at a time (by rank in the live-hold
  index, whose members carry each hold's user and seats: see
  includes/holdIndex; hold records are not read). Reads only. Every seat a
  live hold lists must be held by it; checked within this one call, so a
  mismatch found is real even under traffic.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

    ARGV[1] offset      rank to start at
    ARGV[2] limit       most holds read (1..1000)

  Output:
    { 'OK', rev, nextOffset, seatsHeld, 'userId=n,...', kind1, detail1, ... }
      nextOffset 0 at the end; seats held per user by the holds read
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed
]]
local rcall = redis.call
--- @include "includes/args"
--- @include "includes/holdIndex"
--- @include "includes/audit"

local offset, limit = argInt('offset', ARGV[1], 0), argInt('limit', ARGV[2], 1, 1000)
local k, rev, report, reply = auditBegin(seatKeys(unpack(KEYS, 1, 8)))
if not rev then
  return { 'EVENT_NOT_FOUND' }
end
local perUser, seatsHeld = {}, 0

local members = rcall('ZRANGE', k.holds, offset, offset + limit - 1)
for _, member in ipairs(members) do
  local holdId, userId, seatList = parseHoldMember(member)
  if not holdId then
    report('hold', 'live hold entry ' .. member .. ' names no user and seats')
  else
    for seatId in string.gmatch(seatList, '[^,]+') do
      seatsHeld = seatsHeld + 1
      perUser[userId] = (perUser[userId] or 0) + 1
      if rcall('HGET', k.seats, seatId) ~= 'h:' .. holdId then
        report('hold', 'hold ' .. holdId .. ' lists ' .. seatId .. ' which is not held by it')
      end
    end
  end
end

local next = #members < limit and 0 or offset + limit
return reply({ 'OK', rev, next, seatsHeld, userCounts(perUser) })
