-- Ends every session of a user. KEYS[1]: the user's set of ids; KEYS[2], KEYS[3]: the expiry and
-- activity indexes. ARGV[1]: prefix of session hashes. Returns how many sessions existed.
local ended = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  ended = ended + redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
redis.call('DEL', KEYS[1])
return ended
