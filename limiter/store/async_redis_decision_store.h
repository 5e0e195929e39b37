#pragma once
// The store asked from an event loop (AsyncDecisionStore) over one standalone Redis server
// (common/redis/async_redis.h): one per loop, as its AsyncRedis is.

#include <string>
#include <vector>

#include "common/redis/async_redis.h"
#include "limiter/core/decision_store.h"

namespace rl::limiter {

// DecideMany: one EVALSHA of policy.lua per request (as RedisDecisionStore decides it), every call
// of a loop turn in that turn's one write; LookupApiKeys: one HGET per key. Each call is answered
// by the deadline it is given (AsyncRedis). Standalone Redis only: in a Redis Cluster a request's
// keys may span slots, which needs the cross-slot protocol of RedisDecisionStore.
class AsyncRedisDecisionStore final : public AsyncDecisionStore {
 public:
  explicit AsyncRedisDecisionStore(common::AsyncRedis& redis);

  void DecideMany(const std::vector<std::vector<RuleCheck>>& requests, int64_t deadline_us,
                  std::function<void(Answers)> done) override;
  void LookupApiKeys(const std::string& hash, const std::vector<std::string>& api_keys,
                     int64_t deadline_us, std::function<void(Entries)> done) override;

 private:
  common::AsyncRedis& redis_;
  const common::LuaScript script_;
};

}  // namespace rl::limiter
