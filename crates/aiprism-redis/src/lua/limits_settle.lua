-- Settles a reservation: the token reservation is corrected with what the call used, and a request
-- the provider refused (throttled) gives its request back. Never fills a bucket beyond its capacity.
-- KEYS: one hash per limit key. ARGV[1]: reserved tokens, ARGV[2]: used tokens, ARGV[3]: 1 when the
-- provider admitted the request; then four numbers per key as for the acquire script.
local reserved, used = tonumber(ARGV[1]), tonumber(ARGV[2])
local admitted = ARGV[3] == '1'

for i, key in ipairs(KEYS) do
  local b = 3 + (i - 1) * 4
  local rrate, rcap = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  local trate, tcap = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local touched = false
  if trate > 0 then
    local l = level(key, 'tl', 'tu', trate, tcap)
    l = math.min(l + math.min(reserved, tcap) - used, tcap)
    redis.call('HSET', key, 'tl', fmt(l), 'tu', fmt(now))
    touched = true
  end
  if not admitted and rrate > 0 then
    local l = math.min(level(key, 'rl', 'ru', rrate, rcap) + 1, rcap)
    redis.call('HSET', key, 'rl', fmt(l), 'ru', fmt(now))
    touched = true
  end
  if touched then redis.call('PEXPIRE', key, IDLE_MS) end
end
return 0
