-- Starts (or extends) a key's cooldown after a throttle; returns the rest now in force, in microseconds.
-- KEYS[1]: the key's hash; KEYS[2]: the set of keys that ever cooled down (for clearing them all).
-- ARGV, in microseconds except the factor: Retry-After (-1 when absent), base, factor, max, window,
-- min, longest Retry-After honoured.
-- Hash fields: cu (cooling until), lt (last throttle that started a rest), lv (escalation level).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local retry_after = tonumber(ARGV[1])
local base, factor, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local window, min, max_retry_after = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local IDLE_MS = 86400000

local function fmt(x) return string.format('%.17g', x) end

local asked = nil
if retry_after >= 0 then asked = math.max(math.min(retry_after, max_retry_after), min) end
local v = redis.call('HMGET', KEYS[1], 'cu', 'lt', 'lv')
local cooling_until, last, lv = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]) or 0
redis.call('SADD', KEYS[2], KEYS[1])
if cooling_until ~= nil and cooling_until > now then
  -- Same episode (requests that were already in flight): only a longer Retry-After extends it.
  if asked ~= nil then cooling_until = math.max(cooling_until, now + asked) end
  redis.call('HSET', KEYS[1], 'cu', fmt(cooling_until))
  redis.call('PEXPIRE', KEYS[1], math.max(IDLE_MS, math.ceil((cooling_until - now) / 1000)))
  return cooling_until - now
end
if last ~= nil and now - last < window then lv = lv + 1 else lv = 0 end
local escalated = math.min(base * factor ^ lv, max)
local rest = asked or math.max(escalated, min)
redis.call('HSET', KEYS[1], 'cu', fmt(now + rest), 'lt', fmt(now), 'lv', fmt(lv))
redis.call('PEXPIRE', KEYS[1], math.max(IDLE_MS, math.ceil((rest + window) / 1000)))
return rest
