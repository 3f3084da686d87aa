--[[
  etaRate(configured, observed): the admission rate a waiting place is divided
  by for etaSeconds. The rate the admit script observed over the last minute
  (meta 'observedRate', written where admission happens, so every replica
  agrees); the configured ratePerSecond only before anyone was admitted.
]]
local function etaRate(configured, observed)
  if observed then
    return tonumber(observed)
  end
  return tonumber(configured)
end
