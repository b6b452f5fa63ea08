-- Microseconds left in a key's cooldown, or -1 when it is not resting. KEYS[1]: the key's hash.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cooling_until = tonumber(redis.call('HGET', KEYS[1], 'cu'))
if cooling_until == nil or cooling_until <= now then return -1 end
return cooling_until - now
