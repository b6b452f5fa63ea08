-- Ends a session. KEYS[1]: its hash; KEYS[2], KEYS[3]: the expiry and activity indexes.
-- ARGV: id hash, prefix of the users' session sets. Returns 1 when the session existed.
local user = redis.call('HGET', KEYS[1], 'user_id')
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if user then redis.call('SREM', ARGV[2] .. user, ARGV[1]) end
return existed
