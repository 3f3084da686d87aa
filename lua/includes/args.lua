--[[
  Argument checks. A script runs them before its first read or write, so a
  caller passing a bad argument gets an error reply and nothing changes (the
  service validates first; these guard against a caller that does not).

  argId(name, value): a non-empty string without '|' or ',' (the separators
    of stored records and seat lists). Returns value.
  argInt(name, value, min, max): a whole number written in decimal digits,
    min <= n <= max (max optional). Returns the number.
  argOneOf(name, value, allowed): value is one of the strings in allowed.
]]
local function argFail(name, value, rule)
  error({ err = 'ERR bad argument ' .. name .. ' ' .. string.format('%q', tostring(value)) .. ': ' .. rule })
end

local function argId(name, value)
  if type(value) ~= 'string' or value == '' or string.find(value, '[|,]') then
    argFail(name, value, 'must be a non-empty id without | or ,')
  end
  return value
end

local function argInt(name, value, min, max)
  local n = type(value) == 'string' and string.match(value, '^%-?%d+$') and tonumber(value)
  if not n or n < min or (max and n > max) then
    argFail(name, value, 'must be a whole number >= ' .. min .. (max and (' and <= ' .. max) or ''))
  end
  return n
end

local function argOneOf(name, value, allowed)
  for _, v in ipairs(allowed) do
    if value == v then
      return value
    end
  end
  argFail(name, value, 'must be one of ' .. table.concat(allowed, ', '))
end
