-- Records activity on a session that still exists. KEYS[1]: its hash; KEYS[2]: ids by last activity.
-- ARGV: id hash, time (microseconds).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
