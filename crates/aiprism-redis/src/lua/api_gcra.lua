-- One GCRA step for an API caller. KEYS[1]: the caller's theoretical arrival time (microseconds).
-- ARGV: emission interval, tolerance (burst x interval), both in microseconds.
-- Returns 0 when the request is admitted, otherwise the microseconds to wait.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next = tat + interval
local ahead = next - now
if ahead > tolerance then return ahead - tolerance end
-- Once the arrival time has passed, the key means the same as no key: let Redis drop it then.
redis.call('SET', KEYS[1], string.format('%.17g', next), 'PX', string.format('%d', math.ceil(ahead / 1000)))
return 0
