-- Token bucket, one key. Mirrors limiter/algorithm/token_bucket.cc step by step; keep them equal.
-- The clock is Redis TIME, so every limiter instance shares it.
--
-- KEYS[1]  bucket hash: tokens (decimal string, fractions kept), ts (microseconds of last update)
-- ARGV[1]  capacity (integer >= 1)
-- ARGV[2]  refill rate in tokens per second (decimal > 0)
-- ARGV[3]  cost (integer >= 1)
-- ARGV[4]  TTL margin in milliseconds, added to the time to refill fully
-- Reply:   {allowed (0|1), remaining, reset_ms, retry_after_ms, now_ms, tokens (string)}
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ttl_margin_ms = tonumber(ARGV[4])

local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tokens = capacity
local updated_us = now_us
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local stored_tokens = tonumber(stored[1])
local stored_ts = tonumber(stored[2])
if stored_tokens ~= nil and stored_ts ~= nil then
  tokens = stored_tokens
  updated_us = stored_ts
  if now_us > updated_us then
    tokens = math.min(capacity, tokens + (now_us - updated_us) * rate / 1e6)
    updated_us = now_us
  end
end

local allowed = 0
local retry_after_ms = 0
if tokens >= cost then
  allowed = 1
  tokens = tokens - cost
else
  retry_after_ms = math.ceil((cost - tokens) * 1000.0 / rate)
end

local reset_ms = math.ceil((capacity - tokens) * 1000.0 / rate)
local tokens_text = string.format('%.17g', tokens)
redis.call('HSET', KEYS[1], 'tokens', tokens_text, 'ts', string.format('%d', updated_us))
redis.call('PEXPIRE', KEYS[1], reset_ms + ttl_margin_ms)

return {allowed, math.floor(tokens), reset_ms, retry_after_ms, math.floor(now_us / 1000), tokens_text}
