--[[
  What the audit's chunk scripts (auditSeats, auditHolds, auditOrders) share.
  They read only, and take the event's seat keys in KEYS[1..8] (seatKeys),
  passed in: auditBegin(seatKeys(unpack(KEYS, 1, 8))).

  auditBegin(k): the seat keys k, given back; the event's seat-change counter
    ('rev', 0 before the first change), a report(kind, detail) that records a
    mismatch (the first 100 are kept), and a reply(out) that appends the
    recorded mismatches to the reply table out as kind1, detail1, ... and
    returns it. Only k when the event does not exist (its hash has no
    'capacity').
  userCounts(perUser): a table userId -> n written 'userId=n,...' (in no
    particular order; '' when empty).
]]
--- @include "includes/seatKeys"
local function auditBegin(k)
  local m = redis.call('HMGET', k.meta, 'capacity', 'rev')
  if not m[1] then
    return k
  end
  local mismatches = {}
  local function report(kind, detail)
    if #mismatches < 200 then
      mismatches[#mismatches + 1] = kind
      mismatches[#mismatches + 1] = detail
    end
  end
  local function reply(out)
    for _, v in ipairs(mismatches) do out[#out + 1] = v end
    return out
  end
  return k, tonumber(m[2] or 0), report, reply
end

local function userCounts(perUser)
  local users = {}
  for userId, n in pairs(perUser) do users[#users + 1] = userId .. '=' .. n end
  return table.concat(users, ',')
end
