--[[
  Confirms (buys) a live hold: its seats become sold under a new order, and
  the order is appended to the event's orders stream for payment and
  fulfilment services (read it with a consumer group), with the price level
  of each seat, the amount (minor units) and the currency when the seats are
  priced. Confirming a confirmed hold again answers the same order.

  Input:
    KEYS[1..8] meta, seats, avail, seatIndex, holds, userSeats, rows, runs (see hold-12.lua)
    KEYS[9] hold       the hold's hash
    KEYS[10] orders    stream of orders
    KEYS[11] idem       idempotency record (unused when ARGV[6] is '0')

    ARGV[1] userId      from the access token
    ARGV[2] holdId
    ARGV[3] orderId     new, random
    ARGV[4] paymentRef  may be ''
    ARGV[5] eventId     written into the order
    ARGV[6] useIdem     '1' when the request carries an Idempotency-Key, else '0'
    ARGV[7] idemTtl     seconds the idempotency record lives (>= 1)
    ARGV[8] sessionId   from the access token: the hold's session must be it

  Output (amount and currency are '' for seats without a price, i.e. events
  made without a layout):
    { 'OK', orderId, 'seat1,seat2', amount, currency }
    { 'REPLAYED', orderId, 'seat1,seat2', 'idempotent', amount, currency }   same Idempotency-Key again
    { 'REPLAYED', orderId, 'seat1,seat2', 'confirmed', amount, currency }    the hold was already confirmed
    { 'HOLD_NOT_FOUND' }
    { 'HOLD_EXPIRED' }     past its expiresAt, or already swept (no longer in the holds index)
    { 'NOT_OWNER' }        another user's hold, or another session's (see includes/holdRecord)
    { 'EVENT_NOT_FOUND' }
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
    error reply 'INVARIANT ...' when a seat of the hold is not held by it (nothing written)
]]
local rcall = redis.call
local holdKey, ordersKey, idemKey = KEYS[9], KEYS[10], KEYS[11]

--- @include "includes/args"
--- @include "includes/seatKeys"
--- @include "includes/sweepExpiredHolds"
--- @include "includes/holdRecord"
--- @include "includes/idempotency"

local userId, holdId, orderId = argId('userId', ARGV[1]), argId('holdId', ARGV[2]), argId('orderId', ARGV[3])
local paymentRef, eventId = ARGV[4] or '', argId('eventId', ARGV[5])
local useIdem = argOneOf('useIdem', ARGV[6], { '0', '1' }) == '1'
local idemTtl = argInt('idemTtl', ARGV[7], 1)
local sessionId = argId('sessionId', ARGV[8])

local k = seatKeys(unpack(KEYS, 1, 8))
if rcall('EXISTS', k.meta) == 0 then
  return { 'EVENT_NOT_FOUND' }
end
local now = reclaimDueHolds(k)

local previous = useIdem and idempotentAnswer(idemKey)
if previous then
  -- previous = { orderId, 'seat1,seat2', amount, currency }
  return { 'REPLAYED', previous[1], previous[2], 'idempotent', previous[3] or '', previous[4] or '' }
end

local hold, refused = callersHold(holdKey, userId, sessionId, 'expiresAt', 'orderId', 'amount', 'currency')
if not hold then
  return { refused }
end
if hold[3] == 'confirmed' then
  return { 'REPLAYED', hold[5], hold[2], 'confirmed', hold[6] or '', hold[7] or '' }
end
-- A held record whose member left the index was swept: its seats are back on sale.
if not holdIsLive(k, holdId, userId, hold) then
  return { 'HOLD_EXPIRED' }
end
if tonumber(hold[4]) <= now then
  -- Past its time but not yet swept: return its seats here, as the sweeper would.
  releaseHoldSeats(k, holdId, userId, hold[2])
  return { 'HOLD_EXPIRED' }
end

local seatIds = {}
for seatId in string.gmatch(hold[2], '[^,]+') do
  if rcall('HGET', k.seats, seatId) ~= 'h:' .. holdId then
    return redis.error_reply('INVARIANT seat ' .. seatId .. ' is not held by hold ' .. holdId)
  end
  seatIds[#seatIds + 1] = seatId
end

-- Prices: each seat's level, the sum, the event's one currency.
local order = { 'orderId', orderId, 'eventId', eventId, 'userId', userId,
  'holdId', holdId, 'seatIds', hold[2], 'paymentRef', paymentRef, 'at', now }
local amount, currency = '', ''
if hasLayout(k) then
  local names, total = seatPrices(k, seatIds)
  amount, currency = total, rcall('HGET', k.meta, 'currency')
  for _, v in ipairs({ 'priceLevels', names, 'amount', amount, 'currency', currency }) do
    order[#order + 1] = v
  end
end

for _, seatId in ipairs(seatIds) do
  rcall('HSET', k.seats, seatId, 's:' .. orderId)
end
seatsMoved(k, seatIds, 'h', 's')
rcall('HINCRBY', k.meta, 'held', -#seatIds)
rcall('HINCRBY', k.meta, 'sold', #seatIds)
rcall('ZREM', k.holds, holdMember(holdId, userId, hold[2]))
rcall('HSET', holdKey, 'state', 'confirmed', 'orderId', orderId, 'confirmedAt', now, 'amount', amount, 'currency', currency)
rcall('PERSIST', holdKey)
rcall('XADD', ordersKey, '*', unpack(order))
if useIdem then
  rememberAnswer(idemKey, idemTtl, { orderId, hold[2], amount, currency })
end
return { 'OK', orderId, hold[2], amount, currency }
