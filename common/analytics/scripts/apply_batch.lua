-- Applies one batch of one partition exactly once.
-- The batch covers offsets [first, next). It is applied only if the stored position of the
-- partition equals `first` (or nothing is stored yet); then every write runs and the position
-- becomes `next`, all in this one atomic call. Otherwise another owner moved on: nothing changes.
--
-- Touches only the keys it is given.
--
-- KEYS[1]     offsets hash (rla:offsets:<topic>), field = partition
-- KEYS[2..n]  every key the writes touch
-- ARGV[1]     partition
-- ARGV[2]     first offset of the batch
-- ARGV[3]     next offset after the batch
-- ARGV[4..]   writes, four arguments each: kind, key (an index into KEYS, 2..n), field, amount
--             kind H: HINCRBY key field amount; Z: ZINCRBY key amount field; X: EXPIREAT key
--             amount; S: SADD key field; M: HSET key field amount if amount is above the stored
--             value
-- Reply:   {1, next} applied, or {0, stored position} rejected
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored and stored ~= ARGV[2] then
  return {0, tonumber(stored)}
end
-- Scripts are not rolled back on error, so check every write before making any.
for i = 4, #ARGV, 4 do
  local kind = ARGV[i]
  local key = tonumber(ARGV[i + 1])
  if (kind ~= 'H' and kind ~= 'Z' and kind ~= 'X' and kind ~= 'S' and kind ~= 'M') or
     ARGV[i + 3] == nil or not key or key < 2 or not KEYS[key] then
    return redis.error_reply('apply_batch: malformed write at argument ' .. i)
  end
end
for i = 4, #ARGV, 4 do
  local kind = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  if kind == 'H' then
    redis.call('HINCRBY', key, ARGV[i + 2], ARGV[i + 3])
  elseif kind == 'Z' then
    redis.call('ZINCRBY', key, ARGV[i + 3], ARGV[i + 2])
  elseif kind == 'X' then
    redis.call('EXPIREAT', key, ARGV[i + 3])
  elseif kind == 'S' then
    redis.call('SADD', key, ARGV[i + 2])
  else
    local stored = tonumber(redis.call('HGET', key, ARGV[i + 2]) or '0')
    if tonumber(ARGV[i + 3]) > stored then redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3]) end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {1, tonumber(ARGV[3])}
