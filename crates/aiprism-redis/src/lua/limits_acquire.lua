-- Takes one request and ARGV[1] tokens from every key's buckets at once, or nothing.
-- KEYS: one hash per limit key. ARGV[1]: tokens; then four numbers per key, in KEYS order: requests per
-- microsecond, request capacity, tokens per microsecond, token capacity (a rate of 0: no such bucket).
-- Returns 0 when taken, otherwise the microseconds until it could be.
-- Hash fields: rl/ru and tl/tu are the request and token levels and when they were last updated.
local tokens = tonumber(ARGV[1])

-- Time until `amount` is there; an amount above capacity waits for a full bucket, not forever. One
-- millisecond is added so a waiter does not wake a hair too early and spin.
local function wait_for(l, amount, rate, cap)
  amount = math.min(amount, cap)
  if l >= amount then return 0 end
  return (amount - l) / rate + 1000
end

local wait = 0
local levels = {}
for i, key in ipairs(KEYS) do
  local b = 1 + (i - 1) * 4
  local rrate, rcap = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  local trate, tcap = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local e = {}
  if rrate > 0 then
    e.r = level(key, 'rl', 'ru', rrate, rcap)
    wait = math.max(wait, wait_for(e.r, 1, rrate, rcap))
  end
  if trate > 0 then
    e.t = level(key, 'tl', 'tu', trate, tcap)
    e.tcap = tcap
    wait = math.max(wait, wait_for(e.t, tokens, trate, tcap))
  end
  levels[i] = e
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  local e = levels[i]
  if e.r then redis.call('HSET', key, 'rl', fmt(e.r - 1), 'ru', fmt(now)) end
  if e.t then redis.call('HSET', key, 'tl', fmt(e.t - math.min(tokens, e.tcap)), 'tu', fmt(now)) end
  if e.r or e.t then redis.call('PEXPIRE', key, IDLE_MS) end
end
return 0
