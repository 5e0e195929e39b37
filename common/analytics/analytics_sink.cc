#include "common/analytics/analytics_sink.h"

#include <charconv>
#include <string_view>
#include <unordered_map>

#include "common/analytics/analytics_keys.h"
#include "common/analytics/scripts/apply_batch_lua.h"

namespace rl::analytics {

using common::RedisValue;
using common::Result;
using common::Status;

RedisAnalyticsSink::RedisAnalyticsSink(common::RedisPool& redis, std::string topic,
                                       const common::Clock& clock)
    : redis_(redis),
      offsets_key_(OffsetsKey(topic)),
      clock_(clock),
      // Sent twice, the batch is applied once: the second finds the offset moved and is refused.
      script_(kApplyBatchLua, common::Idempotence::kIdempotent) {}

Result<ApplyResult> RedisAnalyticsSink::ApplyBatch(int32_t partition, int64_t first, int64_t next,
                                                   const std::vector<AnalyticsOp>& ops) {
  // Every key goes in KEYS (once); the writes name them by index.
  std::vector<std::string> keys = {offsets_key_};
  std::unordered_map<std::string_view, size_t> index;
  std::vector<std::string> args;
  args.reserve(3 + 4 * ops.size());
  args.push_back(std::to_string(partition));
  args.push_back(std::to_string(first));
  args.push_back(std::to_string(next));
  for (const auto& op : ops) {
    auto [it, added] = index.try_emplace(op.key, keys.size() + 1);  // Lua indexes from 1
    if (added) keys.push_back(op.key);
    args.push_back(std::string(1, static_cast<char>(op.kind)));
    args.push_back(std::to_string(it->second));
    args.push_back(op.field);
    args.push_back(std::to_string(op.amount));
  }
  auto reply = redis_.Eval(script_, keys, args);
  if (!reply.ok()) return reply.status();
  if (reply->type != RedisValue::Type::kArray || reply->elements.size() != 2 ||
      reply->elements[0].type != RedisValue::Type::kInteger ||
      reply->elements[1].type != RedisValue::Type::kInteger) {
    return Status::Internal("apply_batch.lua: unexpected reply");
  }
  return ApplyResult{reply->elements[0].integer == 1, reply->elements[1].integer};
}

Result<std::map<int32_t, int64_t>> RedisAnalyticsSink::LoadPositions(
    const std::vector<int32_t>& partitions) {
  std::map<int32_t, int64_t> positions;
  if (partitions.empty()) return positions;
  std::vector<std::string> argv = {"HMGET", offsets_key_};
  for (int32_t p : partitions) argv.push_back(std::to_string(p));
  auto reply = redis_.Command(argv);
  if (!reply.ok()) return reply.status();
  if (reply->type != RedisValue::Type::kArray || reply->elements.size() != partitions.size()) {
    return Status::Internal("HMGET " + offsets_key_ + ": unexpected reply");
  }
  for (size_t i = 0; i < partitions.size(); ++i) {
    const RedisValue& v = reply->elements[i];
    if (v.type != RedisValue::Type::kString) continue;
    int64_t position = 0;
    auto [end, error] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), position);
    if (error != std::errc() || end != v.str.data() + v.str.size() || position < 0) {
      return Status::DataError("HMGET " + offsets_key_ + ": partition " +
                               std::to_string(partitions[i]) + " holds no position: " + v.str);
    }
    positions[partitions[i]] = position;
  }
  return positions;
}

Status RedisAnalyticsSink::Ping(int64_t* latency_us) { return redis_.Ping(clock_, latency_us); }

}  // namespace rl::analytics
