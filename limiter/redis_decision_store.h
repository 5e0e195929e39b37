#pragma once

#include "clock.h"
#include "decision_store.h"
#include "redis_client.h"

namespace rl::limiter {

// Parses the reply of scripts/token_bucket.lua. Pure; exposed for tests.
common::Result<BucketAnswer> ParseTokenBucketReply(const common::RedisValue& reply);

// DecisionStore over Redis: one EVALSHA of token_bucket.lua per decision.
class RedisDecisionStore final : public DecisionStore {
 public:
  RedisDecisionStore(common::RedisPool& redis, const common::Clock& clock);
  common::Result<BucketAnswer> Consume(const BucketRequest& request) override;
  common::Status Ping(int64_t* latency_us) override;

 private:
  common::RedisPool& redis_;
  const common::Clock& clock_;
  const common::LuaScript script_;
};

}  // namespace rl::limiter
