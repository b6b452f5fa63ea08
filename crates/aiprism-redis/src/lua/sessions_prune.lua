-- Removes sessions past their absolute expiry or idle since a cutoff, at most ARGV[5] from each index
-- per call. KEYS[1], KEYS[2]: the expiry and activity indexes. ARGV: now, idle cutoff (microseconds),
-- prefix of session hashes, prefix of the users' session sets, batch size.
-- Returns {sessions removed, 1 when a batch was full (call again) or 0}.
local batch = tonumber(ARGV[5])
local seen, removed = {}, 0
local function prune(id)
  if seen[id] then return end
  seen[id] = true
  removed = removed + 1
  local key = ARGV[3] .. id
  local user = redis.call('HGET', key, 'user_id')
  redis.call('DEL', key)
  if user then redis.call('SREM', ARGV[4] .. user, id) end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, batch)
local idle = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, batch)
for _, id in ipairs(expired) do prune(id) end
for _, id in ipairs(idle) do prune(id) end
local more = 0
if #expired == batch or #idle == batch then more = 1 end
return {removed, more}
