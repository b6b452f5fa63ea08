-- Shared by the bucket scripts: the server's clock in microseconds, exact number formatting, and a
-- bucket's level now (refilled continuously since it was last written; full when never written).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local IDLE_MS = 86400000

local function fmt(x) return string.format('%.17g', x) end

local function level(key, lf, uf, rate, cap)
  local v = redis.call('HMGET', key, lf, uf)
  local l, u = tonumber(v[1]), tonumber(v[2])
  if l == nil or u == nil then return cap end
  local elapsed = math.max(now - u, 0)
  return math.min(l + elapsed * rate, cap)
end

