#include "common/analytics/limiter_ledger.h"

#include "common/redis/redis_client.h"

namespace rl::analytics {

common::Status RedisLimiterLedger::Record(std::string_view limiter_id, uint64_t decided,
                                          int64_t recorded_at_ms, std::string_view state) {
  const std::string id(limiter_id);
  auto reply =
      redis_.Command({"HSET", common::LimiterLedgerKey(id), "decided", std::to_string(decided),
                      "recorded_at_ms", std::to_string(recorded_at_ms), "state", std::string(state),
                      "interval_ms", std::to_string(interval_ms_)});
  if (!reply.ok()) return reply.status();
  {
    std::lock_guard lock(mu_);
    if (registered_.count(id)) return common::Status::Ok();
  }
  reply = redis_.Command({"SADD", common::kLimitersKey, id});
  if (!reply.ok()) return reply.status();
  std::lock_guard lock(mu_);
  registered_.insert(id);
  return common::Status::Ok();
}

}  // namespace rl::analytics
