-- Decides one request against every rule that applies to it, atomically, in one call.
-- All or nothing: if one enforced rule blocks, no rule is charged. A shadow rule never blocks:
-- a would-be block is reported and not charged. A rule with a penalty bans its key after
-- `penalty_blocks` blocks within `penalty_within_ms`, for `penalty_ban_ms`; while banned, the
-- request is refused and nothing is charged.
-- Each algorithm is mirrored step by step by the reference model in
-- tests/support/algorithm_model.cc (tests only); keep them equal (algorithm_model_test).
--
-- Every algorithm is split in three: read (the stored state, or nil), eval (a pure function of
-- state, parameters, now and cost) and write, each one function dispatching on the algorithm's
-- name: a script's definitions are made anew at every call, so they are kept few (per-algorithm
-- tables of closures cost a quarter of the script's time). A blocked answer's retry_after_ms is the earliest
-- whole millisecond at which eval, given the same stored state, admits the same cost: it is
-- computed by formula and then checked with eval itself, so a client that waits exactly that
-- long is admitted (unless something else consumed meanwhile), whatever the rounding.
-- A key holding a value of the wrong type or an unreadable one (a rule changed under it, or a
-- stray write) is a data error: it is deleted and the rule starts afresh for that key.
--
-- KEYS     three per rule: state key, ban key, strike key (blocks counted for the penalty)
-- ARGV[1]  now in microseconds, or "" for Redis TIME (tests pass a time; the limiter never does)
-- ARGV[2]  number of rules
-- then ten per rule: algorithm, limit, window_ms, burst, rate_per_us, cost, shadow (0|1; 2: not
--          shadow, and a fixed window is charged its cost even when it refuses, as Envoy's rate
--          limit service counts),
--          penalty_blocks (0 = none), penalty_within_ms, penalty_ban_ms
-- Reply    {now_ms, refused_by_ban (0|1), then five per rule: allowed (0|1), remaining, reset_ms,
--          retry_after_ms, banned_ms (0 = not banned)}
-- A batch (one call for several requests, each all or nothing on its own, decided in order at
-- one `now`, exactly as that many calls in a row): ARGV[2] "batch", ARGV[3] the number of
-- requests, ARGV[4..] each one's number of rules, then each one's ten per rule in turn; KEYS
-- each one's three per rule in turn. Reply: each request's reply, one after another.

local function ceil_ms(us) return math.ceil(us / 1000.0) end
local function fmt(x) return string.format('%.17g', x) end

-- HMGET that treats a wrong type as no state (and removes it).
local function read_fields(key, ...)
  local h = redis.pcall('HMGET', key, ...)
  if type(h) == 'table' and h.err then
    redis.call('DEL', key)
    return nil
  end
  return h
end

-- The stored state of `key` under algorithm `a`, or nil (none, or unreadable).
local function read(a, key, p, now)
  if a == 'token_bucket' or a == 'leaky_bucket' then
    local h = read_fields(key, 'v', 't')
    if not h or not h[1] then return nil end
    local v, t = tonumber(h[1]), tonumber(h[2])
    if not v or not t then return nil end
    return {v = v, t = t}
  elseif a == 'gcra' then
    local stored = redis.pcall('GET', key)
    if type(stored) == 'table' and stored.err then
      redis.call('DEL', key)
      return nil
    end
    return stored and tonumber(stored) or nil
  elseif a == 'fixed_window' or a == 'sliding_window_counter' then
    local h = read_fields(key, 'w', 'c', 'p')
    if not h or not h[1] then return nil end
    local w, c, prev = tonumber(h[1]), tonumber(h[2]), tonumber(h[3] or '0')
    if not w or not c or not prev then return nil end
    return {w = w, c = c, p = prev}
  else  -- sliding_window_log
    local window_us = p.window_ms * 1000
    local removed = redis.pcall('ZREMRANGEBYSCORE', key, '-inf', now - window_us)  -- expired
    if type(removed) == 'table' and removed.err then redis.call('DEL', key) end
    return {key = key, used = redis.call('ZCARD', key)}
  end
end

-- The decision of algorithm `a` on state `s` at `now` for `cost`. Pure but for
-- sliding_window_log, which reads its log's entries.
local function eval(a, s, p, now, cost)
  if a == 'token_bucket' then
    local capacity = p.burst
    local rate = p.rate
    local level, updated = capacity, now
    if s then
      level, updated = s.v, s.t
      if now > updated then
        level = math.min(capacity, level + (now - updated) * rate)
        updated = now
      end
    end
    local d = {allowed = level >= cost, retry = 0}
    if d.allowed then level = level - cost else d.retry = ceil_ms((cost - level) / rate) end
    d.remaining = math.floor(level)
    d.reset = ceil_ms((capacity - level) / rate)
    d.level, d.updated = level, updated
    return d
  elseif a == 'leaky_bucket' then
    local capacity = p.burst
    local rate = p.rate
    local level, updated = 0, now
    if s then
      level, updated = s.v, s.t
      if now > updated then
        level = math.max(0.0, level - (now - updated) * rate)
        updated = now
      end
    end
    local d = {allowed = level + cost <= capacity, retry = 0}
    if d.allowed then level = level + cost else d.retry = ceil_ms((level + cost - capacity) / rate) end
    d.remaining = math.floor(capacity - level)
    d.reset = ceil_ms(level / rate)
    d.level, d.updated = level, updated
    return d
  elseif a == 'gcra' then
    local interval = 1.0 / p.rate
    local capacity = interval * p.burst
    local tat = now
    if s then tat = math.max(s, now) end
    local new_tat = tat + interval * cost
    local d = {allowed = new_tat - now <= capacity, retry = 0}
    local held = tat
    if d.allowed then held = new_tat else d.retry = ceil_ms(new_tat - now - capacity) end
    d.remaining = math.floor((capacity - (held - now)) / interval)
    d.reset = ceil_ms(held - now)
    d.held = held
    return d
  elseif a == 'fixed_window' then
    local window_us = p.window_ms * 1000
    local window = (now - now % window_us) / window_us
    local count = 0
    if s and s.w == window then count = s.c end
    local window_end = (window + 1) * window_us
    local d = {allowed = count + cost <= p.limit, retry = 0}
    if d.allowed then count = count + cost else d.retry = ceil_ms(window_end - now) end
    d.remaining = p.limit - count
    d.reset = 0
    if count > 0 then d.reset = ceil_ms(window_end - now) end
    d.window, d.count = window, count
    return d
  elseif a == 'sliding_window_counter' then
    local window_us = p.window_ms * 1000
    local window = (now - now % window_us) / window_us
    local count, previous = 0, 0
    if s then
      if s.w == window then
        count, previous = s.c, s.p
      elseif s.w == window - 1 then
        previous = s.c
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
      -- The previous window's weight falls within this window until the estimate leaves room.
      local room = p.limit - count - cost
      d.retry = ceil_ms(window_us * (1.0 - room / previous) - elapsed)
    else
      -- Only in the next window, where this window's count weighs as the previous one.
      local into_next = 0
      if count > 0 then into_next = math.max(0.0, window_us * (1.0 - (p.limit - cost) / count)) end
      d.retry = ceil_ms(window_us - elapsed + into_next)
    end
    d.remaining = math.max(0, math.floor(p.limit - after))
    d.reset = 0
    if count > 0 then
      d.reset = ceil_ms(2 * window_us - elapsed)
    elseif previous > 0 then
      d.reset = ceil_ms(window_us - elapsed)
    end
    d.window, d.count, d.previous = window, count, previous
    return d
  else  -- sliding_window_log
    local window_us = p.window_ms * 1000
    local used = s.used
    local d = {allowed = used + cost <= p.limit, retry = 0, used = used}
    local after = used
    if d.allowed then
      after = used + cost
    else
      local must_leave = used + cost - p.limit
      if must_leave > used then
        d.retry = p.window_ms
      else
        local oldest = redis.call('ZRANGE', s.key, must_leave - 1, must_leave - 1, 'WITHSCORES')
        d.retry = ceil_ms(tonumber(oldest[2]) + window_us - now)
      end
    end
    d.remaining = p.limit - after
    d.reset = 0
    if d.allowed then
      d.reset = ceil_ms(window_us)
    elseif used > 0 then
      local newest = redis.call('ZRANGE', s.key, -1, -1, 'WITHSCORES')
      d.reset = ceil_ms(tonumber(newest[2]) + window_us - now)
    end
    return d
  end
end

local function write(a, key, d, p, now, cost)
  if a == 'token_bucket' or a == 'leaky_bucket' then
    redis.call('HSET', key, 'v', fmt(d.level), 't', string.format('%d', d.updated))
    redis.call('PEXPIRE', key, d.reset + 1000)
  elseif a == 'gcra' then
    redis.call('SET', key, fmt(d.held), 'PX', d.reset + 1000)
  elseif a == 'fixed_window' then
    redis.call('HSET', key, 'w', string.format('%d', d.window), 'c', d.count)
    redis.call('PEXPIRE', key, 2 * p.window_ms + 1000)
  elseif a == 'sliding_window_counter' then
    redis.call('HSET', key, 'w', string.format('%d', d.window), 'c', d.count, 'p', d.previous)
    redis.call('PEXPIRE', key, 2 * p.window_ms + 1000)
  else  -- sliding_window_log
    local args = {}
    for i = 1, cost do
      table.insert(args, string.format('%d', now))
      table.insert(args, string.format('%d-%d-%d', now, d.used, i))
    end
    redis.call('ZADD', key, unpack(args))
    redis.call('PEXPIRE', key, p.window_ms + 1000)
  end
end

-- The algorithms that compute in integers: their retry formula is exact and needs no check.
local exact = {fixed_window = true, sliding_window_log = true}
local known = {token_bucket = true, leaky_bucket = true, gcra = true, fixed_window = true,
               sliding_window_counter = true, sliding_window_log = true}

-- The earliest whole millisecond from `now` at which `eval` admits `cost` on state `s`,
-- starting from the formula's `guess` (right to within rounding).
local function earliest_retry(a, s, p, now, cost, guess)
  local retry = math.max(1, guess)
  for _ = 1, 4 do
    if eval(a, s, p, now + retry * 1000, cost).allowed then break end
    retry = retry + 1
  end
  for _ = 1, 4 do
    if retry <= 1 or not eval(a, s, p, now + (retry - 1) * 1000, cost).allowed then break end
    retry = retry - 1
  end
  return retry
end

-- Decides one request of `n` rules, whose keys follow KEYS[k] and whose parameters follow
-- ARGV[a], at `now`, and appends its reply to `reply`; an error message if it cannot.
local function decide(n, k, a, now, reply)
  local rules = {}
  for i = 1, n do
    local b = a + (i - 1) * 10
    local c = k + (i - 1) * 3
    rules[i] = {
      algorithm = ARGV[b + 1], limit = tonumber(ARGV[b + 2]), window_ms = tonumber(ARGV[b + 3]),
      burst = tonumber(ARGV[b + 4]), rate = tonumber(ARGV[b + 5]), cost = tonumber(ARGV[b + 6]),
      shadow = ARGV[b + 7] == '1', charge_over = ARGV[b + 7] == '2',
      penalty_blocks = tonumber(ARGV[b + 8]),
      penalty_within_ms = tonumber(ARGV[b + 9]), penalty_ban_ms = tonumber(ARGV[b + 10]),
      key = KEYS[c + 1], ban_key = KEYS[c + 2], strike_key = KEYS[c + 3],
    }
  end

  table.insert(reply, math.floor(now / 1000))

  local decisions = {}
  local blocked = false
  for i = 1, n do
    local r = rules[i]
    local a = r.algorithm
    if not known[a] then return 'policy: unknown algorithm ' .. tostring(a) end
    local s = read(a, r.key, r, now)
    local d = eval(a, s, r, now, r.cost)
    if not d.allowed and not exact[a] then d.retry = earliest_retry(a, s, r, now, r.cost, d.retry) end
    decisions[i] = d
    if not d.allowed and not r.shadow then blocked = true end
  end

  -- A ban refuses the request and charges nothing. Its answer still says when the request would
  -- be admitted: once the ban has ended and every rule allows it.
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
      local d = decisions[i]
      if bans[i] > 0 then
        table.insert(reply, 0); table.insert(reply, 0)
        table.insert(reply, math.max(d.reset, bans[i])); table.insert(reply, math.max(d.retry, bans[i]))
      else
        local allowed = 0
        if d.allowed then allowed = 1 end
        table.insert(reply, allowed); table.insert(reply, d.remaining)
        table.insert(reply, d.reset); table.insert(reply, d.retry)
      end
      table.insert(reply, bans[i])
    end
    return nil
  end

  table.insert(reply, 0)
  for i = 1, n do
    local r, d = rules[i], decisions[i]
    if not blocked then
      if d.allowed then write(r.algorithm, r.key, d, r, now, r.cost) end
    elseif not d.allowed and r.charge_over and r.algorithm == 'fixed_window' then
      -- Envoy's rate limit service counts the hits of a refused request too.
      d.count = d.count + r.cost
      write(r.algorithm, r.key, d, r, now, r.cost)
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
  return nil
end

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local reply = {}
if ARGV[2] ~= 'batch' then  -- one request: ARGV[2] rules
  local failed = decide(tonumber(ARGV[2]), 0, 2, now, reply)
  if failed then return redis.error_reply(failed) end
  return reply
end
-- A batch: ARGV[3] requests, ARGV[4..] their rule counts, then every request's parameters and
-- keys in turn. Each is decided on its own, in order, as that many calls would decide them.
local m = tonumber(ARGV[3])
local k, a = 0, 3 + m
for j = 1, m do
  local n = tonumber(ARGV[3 + j])
  local failed = decide(n, k, a, now, reply)
  if failed then return redis.error_reply(failed) end
  k, a = k + 3 * n, a + 10 * n
end
return reply
