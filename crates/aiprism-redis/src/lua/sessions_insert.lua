-- Stores a new session. KEYS[1]: the session's hash; KEYS[2]: its user's set of session ids;
-- KEYS[3], KEYS[4]: the ids by absolute expiry and by last activity (scores in microseconds).
-- ARGV: id hash, user id, created, last seen, expires (microseconds), expires (milliseconds).
-- Returns 0 when a session with this id exists already, 1 otherwise.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local id, expires_ms = ARGV[1], tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'user_id', ARGV[2], 'created_at', ARGV[3], 'last_seen_at', ARGV[4],
  'expires_at', ARGV[5])
-- Redis drops the session itself at its absolute expiry (at once when that is already past).
redis.call('PEXPIREAT', KEYS[1], expires_ms)
redis.call('SADD', KEYS[2], id)
-- The user's set lives as long as their longest session, so ids Redis expired do not pile up.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 or now_ms + ttl < expires_ms then redis.call('PEXPIREAT', KEYS[2], expires_ms) end
redis.call('ZADD', KEYS[3], ARGV[5], id)
redis.call('ZADD', KEYS[4], ARGV[4], id)
return 1
