--[[
  observeAdmissions(metaKey, admitted, now, m): records `admitted` admissions
  at `now` and stores the rate observed over the last minute in the event
  hash ('observedRate', admissions per second), so every replica reads the
  same figure for etaSeconds.

  Counts live in 12 windows of 5 s ('admHist', newest first, comma
  separated; 'admWin' is the newest window's index). The rate is their sum
  over the time they cover (the last minute, or since the first admission
  'admFirst' when that is more recent, at least 1 s). Nothing is written
  before the first admission (the configured rate stands until then), nor
  while the last minute holds no admission and nothing changed.
  m holds the meta fields admWin, admHist, admFirst as read by the caller.
]]
local OBS_WINDOW_MS, OBS_WINDOWS = 5000, 12

local function observeAdmissions(metaKey, admitted, now, m)
  local current = math.floor(now / OBS_WINDOW_MS)
  local shift = m.admWin and (current - tonumber(m.admWin)) or OBS_WINDOWS
  if shift == 0 and admitted == 0 then
    return
  end
  local old, oldTotal = {}, 0
  for c in string.gmatch(m.admHist or '', '[^,]+') do
    old[#old + 1] = tonumber(c)
    oldTotal = oldTotal + tonumber(c)
  end
  if admitted == 0 and oldTotal == 0 then
    return
  end
  local counts, total = {}, 0
  for i = 1, OBS_WINDOWS do
    counts[i] = (i > shift and old[i - shift]) or 0
  end
  counts[1] = counts[1] + admitted
  for i = 1, OBS_WINDOWS do
    total = total + counts[i]
  end
  local first = tonumber(m.admFirst) or now
  local since = math.max(first, (current - OBS_WINDOWS + 1) * OBS_WINDOW_MS)
  local rate = total * 1000 / math.max(1000, now - since)
  redis.call('HSET', metaKey, 'admWin', current, 'admHist', table.concat(counts, ','),
    'admFirst', first, 'observedRate', string.format('%.3f', rate))
end
