-- Decides one request against every rule that applies to it, atomically, in one call.
-- All or nothing: if one enforced rule blocks, no rule is charged. A shadow rule never blocks:
-- a would-be block is reported and not charged. A rule with a penalty bans its key after
-- `penalty_blocks` blocks within `penalty_within_ms`, for `penalty_ban_ms`; while banned, the
-- request is refused before any rule is evaluated.
-- Each algorithm mirrors limiter/algorithm/algorithms.cc step by step; keep them equal.
--
-- KEYS     three per rule: state key, ban key, strike key (blocks counted for the penalty)
-- ARGV[1]  now in microseconds, or "" for Redis TIME (tests pass a time; the limiter never does)
-- ARGV[2]  number of rules
-- then ten per rule: algorithm, limit, window_ms, burst, rate_per_us, cost, shadow (0|1),
--          penalty_blocks (0 = none), penalty_within_ms, penalty_ban_ms
-- Reply    {now_ms, refused_by_ban (0|1), then five per rule: allowed (0|1), remaining, reset_ms,
--          retry_after_ms, banned_ms (0 = not banned)}

local function ceil_ms(us) return math.ceil(us / 1000.0) end
local function fmt(x) return string.format('%.17g', x) end

local function token_bucket(key, p, now, cost)
  local capacity = p.burst
  local rate = p.rate
  local level, updated = capacity, now
  local h = redis.call('HMGET', key, 'v', 't')
  if h[1] and h[2] then
    level = tonumber(h[1])
    updated = tonumber(h[2])
    if now > updated then
      level = math.min(capacity, level + (now - updated) * rate)
      updated = now
    end
  end
  local d = {allowed = level >= cost, retry = 0}
  if d.allowed then level = level - cost else d.retry = ceil_ms((cost - level) / rate) end
  d.remaining = math.floor(level)
  d.reset = ceil_ms((capacity - level) / rate)
  d.write = function()
    redis.call('HSET', key, 'v', fmt(level), 't', string.format('%d', updated))
    redis.call('PEXPIRE', key, d.reset + 1000)
  end
  return d
end

local function leaky_bucket(key, p, now, cost)
  local capacity = p.burst
  local rate = p.rate
  local level, updated = 0, now
  local h = redis.call('HMGET', key, 'v', 't')
  if h[1] and h[2] then
    level = tonumber(h[1])
    updated = tonumber(h[2])
    if now > updated then
      level = math.max(0.0, level - (now - updated) * rate)
      updated = now
    end
  end
  local d = {allowed = level + cost <= capacity, retry = 0}
  if d.allowed then level = level + cost else d.retry = ceil_ms((level + cost - capacity) / rate) end
  d.remaining = math.floor(capacity - level)
  d.reset = ceil_ms(level / rate)
  d.write = function()
    redis.call('HSET', key, 'v', fmt(level), 't', string.format('%d', updated))
    redis.call('PEXPIRE', key, d.reset + 1000)
  end
  return d
end

local function gcra(key, p, now, cost)
  local interval = 1.0 / p.rate
  local capacity = interval * p.burst
  local tat = now
  local stored = redis.call('GET', key)
  if stored then tat = math.max(tonumber(stored), now) end
  local new_tat = tat + interval * cost
  local d = {allowed = new_tat - now <= capacity, retry = 0}
  local held = tat
  if d.allowed then held = new_tat else d.retry = ceil_ms(new_tat - now - capacity) end
  d.remaining = math.floor((capacity - (held - now)) / interval)
  d.reset = ceil_ms(held - now)
  d.write = function()
    redis.call('SET', key, fmt(held), 'PX', d.reset + 1000)
  end
  return d
end

local function fixed_window(key, p, now, cost)
  local window_us = p.window_ms * 1000
  local window = (now - now % window_us) / window_us
  local count = 0
  local h = redis.call('HMGET', key, 'w', 'c')
  if h[1] and tonumber(h[1]) == window then count = tonumber(h[2]) end
  local window_end = (window + 1) * window_us
  local d = {allowed = count + cost <= p.limit, retry = 0}
  if d.allowed then count = count + cost else d.retry = ceil_ms(window_end - now) end
  d.remaining = p.limit - count
  d.reset = 0
  if count > 0 then d.reset = ceil_ms(window_end - now) end
  d.write = function()
    redis.call('HSET', key, 'w', string.format('%d', window), 'c', count)
    redis.call('PEXPIRE', key, 2 * p.window_ms + 1000)
  end
  return d
end

local function sliding_window_counter(key, p, now, cost)
  local window_us = p.window_ms * 1000
  local window = (now - now % window_us) / window_us
  local count, previous = 0, 0
  local h = redis.call('HMGET', key, 'w', 'c', 'p')
  if h[1] then
    local stored = tonumber(h[1])
    if stored == window then
      count = tonumber(h[2])
      previous = tonumber(h[3])
    elseif stored == window - 1 then
      previous = tonumber(h[2])
    end
  end
  local elapsed = now - window * window_us
  local weight = 1.0 - elapsed / window_us
  local estimate = previous * weight + count
  local d = {allowed = estimate + cost <= p.limit, retry = 0}
  local after = estimate
  if d.allowed then
    count = count + cost
    after = estimate + cost
  elseif previous > 0 and count + cost <= p.limit then
    local room = p.limit - count - cost
    d.retry = ceil_ms(window_us * (1.0 - room / previous) - elapsed)
  else
    d.retry = ceil_ms(window_us - elapsed)
  end
  d.remaining = math.max(0, math.floor(p.limit - after))
  d.reset = 0
  if count > 0 then
    d.reset = ceil_ms(2 * window_us - elapsed)
  elseif previous > 0 then
    d.reset = ceil_ms(window_us - elapsed)
  end
  d.write = function()
    redis.call('HSET', key, 'w', string.format('%d', window), 'c', count, 'p', previous)
    redis.call('PEXPIRE', key, 2 * p.window_ms + 1000)
  end
  return d
end

local function sliding_window_log(key, p, now, cost)
  local window_us = p.window_ms * 1000
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)  -- expired either way
  local used = redis.call('ZCARD', key)
  local d = {allowed = used + cost <= p.limit, retry = 0}
  local after = used
  if d.allowed then
    after = used + cost
  else
    local must_leave = used + cost - p.limit
    if must_leave > used then
      d.retry = p.window_ms
    else
      local oldest = redis.call('ZRANGE', key, must_leave - 1, must_leave - 1, 'WITHSCORES')
      d.retry = ceil_ms(tonumber(oldest[2]) + window_us - now)
    end
  end
  d.remaining = p.limit - after
  d.reset = 0
  if d.allowed then
    d.reset = ceil_ms(window_us)
  elseif used > 0 then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    d.reset = ceil_ms(tonumber(newest[2]) + window_us - now)
  end
  d.write = function()
    local args = {}
    for i = 1, cost do
      table.insert(args, string.format('%d', now))
      table.insert(args, string.format('%d-%d-%d', now, used, i))
    end
    redis.call('ZADD', key, unpack(args))
    redis.call('PEXPIRE', key, p.window_ms + 1000)
  end
  return d
end

local algorithms = {
  token_bucket = token_bucket, leaky_bucket = leaky_bucket, gcra = gcra,
  fixed_window = fixed_window, sliding_window_counter = sliding_window_counter,
  sliding_window_log = sliding_window_log,
}

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local n = tonumber(ARGV[2])
local rules = {}
for i = 1, n do
  local a = 2 + (i - 1) * 10
  rules[i] = {
    algorithm = ARGV[a + 1], limit = tonumber(ARGV[a + 2]), window_ms = tonumber(ARGV[a + 3]),
    burst = tonumber(ARGV[a + 4]), rate = tonumber(ARGV[a + 5]), cost = tonumber(ARGV[a + 6]),
    shadow = ARGV[a + 7] == '1', penalty_blocks = tonumber(ARGV[a + 8]),
    penalty_within_ms = tonumber(ARGV[a + 9]), penalty_ban_ms = tonumber(ARGV[a + 10]),
    key = KEYS[(i - 1) * 3 + 1], ban_key = KEYS[(i - 1) * 3 + 2], strike_key = KEYS[(i - 1) * 3 + 3],
  }
end

local reply = {math.floor(now / 1000)}

-- A ban refuses the request before any rule is evaluated or charged.
local banned = false
local bans = {}
for i = 1, n do
  bans[i] = 0
  if rules[i].penalty_blocks > 0 and not rules[i].shadow then
    local ttl = redis.call('PTTL', rules[i].ban_key)
    if ttl > 0 then
      bans[i] = ttl
      banned = true
    end
  end
end
if banned then
  table.insert(reply, 1)
  for i = 1, n do
    table.insert(reply, 0); table.insert(reply, 0); table.insert(reply, 0)
    table.insert(reply, bans[i]); table.insert(reply, bans[i])
  end
  return reply
end

table.insert(reply, 0)
local decisions = {}
local blocked = false
for i = 1, n do
  local r = rules[i]
  local algorithm = algorithms[r.algorithm]
  if not algorithm then return redis.error_reply('policy: unknown algorithm ' .. tostring(r.algorithm)) end
  decisions[i] = algorithm(r.key, r, now, r.cost)
  if not decisions[i].allowed and not r.shadow then blocked = true end
end

for i = 1, n do
  local r, d = rules[i], decisions[i]
  if not blocked then
    if d.allowed then d.write() end
  elseif not d.allowed and not r.shadow and r.penalty_blocks > 0 then
    local strikes = redis.call('INCR', r.strike_key)
    if strikes == 1 then redis.call('PEXPIRE', r.strike_key, r.penalty_within_ms) end
    if strikes >= r.penalty_blocks then
      redis.call('SET', r.ban_key, '1', 'PX', r.penalty_ban_ms)
      redis.call('DEL', r.strike_key)
      bans[i] = r.penalty_ban_ms
    end
  end
  local allowed = 0
  if d.allowed then allowed = 1 end
  table.insert(reply, allowed); table.insert(reply, d.remaining); table.insert(reply, d.reset)
  table.insert(reply, d.retry); table.insert(reply, bans[i])
end
return reply
