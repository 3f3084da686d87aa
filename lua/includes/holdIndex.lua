--[[
  The live-hold index: the holds sorted set, one member per live hold,
  scored by expiresAt: '<holdId>|<userId>|<seat1,seat2>'. The member carries
  everything needed to put the hold's seats back, so returning them never
  reads the hold's own record: a record that is gone (evicted, deleted)
  cannot strand its seats (CONTRACT invariant 9), and whoever reads the index
  touches only keys it declares.

  holdMember(holdId, userId, seatList): the member of a live hold.
  parseHoldMember(member): holdId, userId, seatList, or nil when malformed.
]]
local function holdMember(holdId, userId, seatList)
  return holdId .. '|' .. userId .. '|' .. seatList
end

local function parseHoldMember(member)
  local first = string.find(member, '|', 1, true)
  local second = first and string.find(member, '|', first + 1, true)
  if not second then
    return nil
  end
  return string.sub(member, 1, first - 1), string.sub(member, first + 1, second - 1), string.sub(member, second + 1)
end
