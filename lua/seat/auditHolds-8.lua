--[[
  The audit, one chunk of live holds at a time (by rank in the holds set).
  Reads only. Each live hold must have its record, in state 'held', and every
  seat it lists must be held by it; checked within this one call, so a
  mismatch found is real even under traffic.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)

    ARGV[1] holdPrefix  key prefix of hold hashes
    ARGV[2] offset      rank to start at
    ARGV[3] limit       most holds read

  Output:
    { 'OK', rev, nextOffset, seatsHeld, 'userId=n,...', kind1, detail1, ... }
      nextOffset 0 at the end; seats held per user by the holds read
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local holdPrefix, offset, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

--- @include "includes/seatKeys"

local k = seatKeys(holdPrefix)
local m = rcall('HMGET', k.meta, 'capacity', 'rev')
if not m[1] then
  return { 'EVENT_NOT_FOUND' }
end
local mismatches, perUser, seatsHeld = {}, {}, 0
local function report(kind, detail)
  if #mismatches < 200 then
    mismatches[#mismatches + 1] = kind
    mismatches[#mismatches + 1] = detail
  end
end

local holdIds = rcall('ZRANGE', k.holds, offset, offset + limit - 1)
for _, holdId in ipairs(holdIds) do
  local hold = rcall('HMGET', holdPrefix .. holdId, 'userId', 'seatIds', 'state')
  if not hold[1] or hold[3] ~= 'held' then
    report('hold', 'hold ' .. holdId .. ' is listed as live but is ' .. tostring(hold[3] or 'missing'))
  else
    for seatId in string.gmatch(hold[2], '[^,]+') do
      seatsHeld = seatsHeld + 1
      perUser[hold[1]] = (perUser[hold[1]] or 0) + 1
      if rcall('HGET', k.seats, seatId) ~= 'h:' .. holdId then
        report('hold', 'hold ' .. holdId .. ' lists ' .. seatId .. ' which is not held by it')
      end
    end
  end
end

local users = {}
for userId, n in pairs(perUser) do users[#users + 1] = userId .. '=' .. n end
local next = #holdIds < limit and 0 or offset + limit
local out = { 'OK', tonumber(m[2] or 0), next, seatsHeld, table.concat(users, ',') }
for _, v in ipairs(mismatches) do out[#out + 1] = v end
return out
