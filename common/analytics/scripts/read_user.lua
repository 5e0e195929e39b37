-- Reads one user's analytics in one round trip. Touches only the keys it is given, all of one
-- user (one hash tag, so one Redis Cluster slot).
-- KEYS[1]     the user's hash (rla:u:{<user>})
-- KEYS[2..n]  the user's per-minute hashes (rla:u:{<user>}:m:<minute>), consecutive minutes
-- ARGV[1]     the minute of KEYS[2] (Unix minutes)
-- Reply:      {HGETALL of the user hash, {minute, allowed, blocked, ...} for non-empty minutes}
local minutes = {}
local first = tonumber(ARGV[1])
for i = 2, #KEYS do
  local counts = redis.call('HMGET', KEYS[i], 'allowed', 'blocked')
  if counts[1] or counts[2] then
    table.insert(minutes, first + i - 2)
    table.insert(minutes, tonumber(counts[1] or 0))
    table.insert(minutes, tonumber(counts[2] or 0))
  end
end
return {redis.call('HGETALL', KEYS[1]), minutes}
