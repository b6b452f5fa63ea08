-- Ends every cooldown and forgets throttle histories. KEYS[1]: the set of keys that ever cooled down.
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HDEL', key, 'cu', 'lt', 'lv')
end
redis.call('DEL', KEYS[1])
return 0
