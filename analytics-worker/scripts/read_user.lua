-- Reads one user's analytics in one round trip.
-- KEYS[1]  the user's hash (rla:u:{<user>})
-- ARGV[1]  prefix of the per-minute keys (rla:u:{<user>}:m:)
-- ARGV[2]  first minute to read (Unix minutes)
-- ARGV[3]  number of minutes to read
-- Reply:   {HGETALL of the user hash, {minute, allowed, blocked, ...} for non-empty minutes}
local minutes = {}
local first = tonumber(ARGV[2])
for m = first, first + tonumber(ARGV[3]) - 1 do
  local counts = redis.call('HMGET', ARGV[1] .. m, 'allowed', 'blocked')
  if counts[1] or counts[2] then
    table.insert(minutes, m)
    table.insert(minutes, tonumber(counts[1] or 0))
    table.insert(minutes, tonumber(counts[2] or 0))
  end
end
return {redis.call('HGETALL', KEYS[1]), minutes}
