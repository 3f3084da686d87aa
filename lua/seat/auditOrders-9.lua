--[[
  The audit, one chunk of the orders stream at a time. Reads only. Every seat
  of an order must be sold to that order (a sold seat never changes, so this
  holds under traffic too), and a priced order's levels and amount must match
  its seats' price levels.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)
    KEYS[9] orders     stream of orders

    ARGV[1] after       stream id to start after ('' = from the start)
    ARGV[2] limit       most orders read

  Output:
    { 'OK', rev, lastId, seatsSold, 'userId=n,...', kind1, detail1, ... }
      lastId '' at the end; seats bought per user in the orders read
    { 'EVENT_NOT_FOUND' }
]]
local rcall = redis.call
local ordersKey = KEYS[9]

--- @include "includes/args"
--- @include "includes/layout"
--- @include "includes/audit"

local after, limit = ARGV[1] or '', argInt('limit', ARGV[2], 1, 1000)

local k, rev, report, reply = auditBegin(seatKeys(unpack(KEYS, 1, 8)))
if not rev then
  return { 'EVENT_NOT_FOUND' }
end
local perUser, seatsSold = {}, 0

local entries = rcall('XRANGE', ordersKey, after == '' and '-' or '(' .. after, '+', 'COUNT', limit)
local lastId = ''
for _, entry in ipairs(entries) do
  lastId = entry[1]
  local f = {}
  for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
  local seatIds = {}
  for seatId in string.gmatch(f.seatIds or '', '[^,]+') do
    seatIds[#seatIds + 1] = seatId
    seatsSold = seatsSold + 1
    perUser[f.userId] = (perUser[f.userId] or 0) + 1
    if rcall('HGET', k.seats, seatId) ~= 's:' .. tostring(f.orderId) then
      report('order', 'order ' .. tostring(f.orderId) .. ' lists ' .. seatId .. ' which is not sold to it')
    end
  end
  if hasLayout(k) and #seatIds > 0 and rcall('ZSCORE', k.seatIndex, seatIds[1]) then
    local names, total = seatPrices(k, seatIds)
    if f.priceLevels ~= names or tonumber(f.amount) ~= total then
      report('order', 'order ' .. tostring(f.orderId) .. ' carries levels ' .. tostring(f.priceLevels) .. ' and amount '
        .. tostring(f.amount) .. ', its seats make ' .. names .. ' and ' .. total)
    end
  end
end

if #entries < limit then lastId = '' end
return reply({ 'OK', rev, lastId, seatsSold, userCounts(perUser) })
