#pragma once

#include <optional>

#include "common/base/clock.h"
#include "common/redis/redis_client.h"
#include "limiter/decision_store.h"

namespace rl::limiter {

// Parses the reply of scripts/policy.lua for `rules` rules. Pure; exposed for tests.
common::Result<StoreAnswer> ParsePolicyReply(const common::RedisValue& reply, size_t rules);

// DecisionStore over Redis: one EVALSHA of policy.lua per decision, whatever the number of rules,
// bans included.
class RedisDecisionStore final : public DecisionStore {
 public:
  RedisDecisionStore(common::RedisPool& redis, const common::Clock& clock);
  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override;
  // One pipelined round trip: one EVALSHA of policy.lua per request.
  std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) override;
  common::Status Ping(int64_t* latency_us) override;
  common::Result<std::optional<std::string>> LookupApiKey(const std::string& hash,
                                                          const std::string& api_key) override;
  common::Result<KeyState> Inspect(const std::string& key) override;
  common::Result<int64_t> Delete(const std::vector<std::string>& keys) override;

  // Decide() at a given time instead of Redis TIME: for the tests that run the same tables
  // against the reference model and the script. Never used by the limiter.
  common::Result<StoreAnswer> DecideAt(const std::vector<RuleCheck>& checks,
                                       std::optional<int64_t> now_us);

 private:
  // KEYS and ARGV of policy.lua for one request.
  static common::RedisPool::EvalCall Call(const std::vector<RuleCheck>& checks,
                                          std::optional<int64_t> now_us);

  common::RedisPool& redis_;
  const common::Clock& clock_;
  const common::LuaScript script_;
};

}  // namespace rl::limiter
