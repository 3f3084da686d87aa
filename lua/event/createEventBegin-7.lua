--[[
  First step of creating an event: claims its id for one creation and clears
  what an abandoned earlier creation may have left. The seats are then loaded
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
    { 'EVENT_EXISTS' }   the event exists, or another creation of it is under way
    error reply 'ERR bad argument ...' when ARGV is malformed (nothing written)
]]
local rcall = redis.call
local metaKey, creatingKey = KEYS[1], KEYS[2]

--- @include "includes/args"

local token, claimMs = argId('token', ARGV[1]), argInt('claimMs', ARGV[2], 1)

if rcall('EXISTS', metaKey) == 1 or rcall('EXISTS', creatingKey) == 1 then
  return { 'EVENT_EXISTS' }
end
-- Left by a creation that died half way: UNLINK frees them off the main
-- thread, so this stays quick however many seats they hold.
rcall('UNLINK', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
rcall('SET', creatingKey, token, 'PX', claimMs)
return { 'OK' }
