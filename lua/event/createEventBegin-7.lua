--[[
  First step of creating an event: claims its id for one creation. The seats are then loaded
  in bounded chunks (createEventSeats) and the event appears only when
  createEvent writes its meta, so no script ever sees half an event: every
  script answers EVENT_NOT_FOUND until then.

  Input:
    KEYS[1] meta       event hash (must not exist)
    KEYS[2] creating   the creation claim: a string holding the creation's token
    KEYS[3] seats      (see createEventSeats-6.lua)
    KEYS[4] avail
    KEYS[5] seatIndex
    KEYS[6] rows
    KEYS[7] runs

    ARGV[1] token      random, names this creation
    ARGV[2] claimMs    how long the claim lasts unless a chunk renews it

  Output:
    { 'OK' }
    { 'EVENT_EXISTS' }   the event exists, another creation of it is under way, or
                         what a delete or a dead creation left is not yet removed
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local metaKey, creatingKey, seatIndexKey = KEYS[1], KEYS[2], KEYS[5]

--- @include "includes/args"

local token, claimMs = argId('token', ARGV[1]), argInt('claimMs', ARGV[2], 1)

-- A seat index without an event is what a delete still in progress, or a
-- creation that died half way, left behind (deleteEvent-4.lua removes the
-- seat index last; DELETE /v1/events/:eventId finishes either): a new event
-- must not mix with it.
if rcall('EXISTS', metaKey) == 1 or rcall('EXISTS', creatingKey) == 1 or rcall('EXISTS', seatIndexKey) == 1 then
  return { 'EVENT_EXISTS' }
end
rcall('SET', creatingKey, token, 'PX', claimMs)
return { 'OK' }
