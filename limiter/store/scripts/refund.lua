-- Gives back what policy.lua charged for rules of a request that was then refused by a rule in
-- another Redis Cluster slot (the cross-slot protocol, docs/scaling.md). Never gives back more
-- than was charged, never raises a state past its empty/full bound, and leaves a window that has
-- since ended alone (what it counted no longer limits anything). Mirrors the state layouts of
-- policy.lua.
--
-- KEYS     one per rule: the state key that was charged
-- ARGV[1]  the charge's time in milliseconds (policy.lua's reply, on the same Redis clock)
-- then five per rule: algorithm, window_ms, burst, rate_per_us, cost
-- Reply    the number of rules given back

local charged_ms = tonumber(ARGV[1])
local given = 0
for i = 1, #KEYS do
  local a = 1 + (i - 1) * 5
  local algorithm, window_ms = ARGV[a + 1], tonumber(ARGV[a + 2])
  local burst, rate, cost = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local key = KEYS[i]
  local kind = redis.call('TYPE', key)['ok']
  if algorithm == 'token_bucket' and kind == 'hash' then
    local v = tonumber(redis.call('HGET', key, 'v'))
    if v then
      redis.call('HSET', key, 'v', string.format('%.17g', math.min(burst, v + cost)))
      given = given + 1
    end
  elseif algorithm == 'leaky_bucket' and kind == 'hash' then
    local v = tonumber(redis.call('HGET', key, 'v'))
    if v then
      redis.call('HSET', key, 'v', string.format('%.17g', math.max(0, v - cost)))
      given = given + 1
    end
  elseif algorithm == 'gcra' and kind == 'string' then
    local tat = tonumber(redis.call('GET', key))
    if tat then
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local earlier = math.max(now, tat - cost / rate)
      redis.call('SET', key, string.format('%.17g', earlier), 'KEEPTTL')
      given = given + 1
    end
  elseif (algorithm == 'fixed_window' or algorithm == 'sliding_window_counter') and kind == 'hash' then
    local window = math.floor(charged_ms / window_ms)
    local h = redis.call('HMGET', key, 'w', 'c', 'p')
    local w, c, p = tonumber(h[1]), tonumber(h[2]), tonumber(h[3] or '0')
    if w == window and c then
      redis.call('HSET', key, 'c', math.max(0, c - cost))
      given = given + 1
    elseif algorithm == 'sliding_window_counter' and w == window + 1 and p then
      -- The charged window is now the previous one: its count still weighs in.
      redis.call('HSET', key, 'p', math.max(0, p - cost))
      given = given + 1
    end
  elseif algorithm == 'sliding_window_log' and kind == 'zset' then
    -- The entries policy.lua added at the charge's millisecond (scores in microseconds).
    local from, to = charged_ms * 1000, charged_ms * 1000 + 999
    local entries = redis.call('ZRANGEBYSCORE', key, from, to, 'LIMIT', 0, cost)
    if #entries > 0 then
      redis.call('ZREM', key, unpack(entries))
      given = given + 1
    end
  end
end
return given
