#pragma once

#include <cstdint>
#include <string>

#include "algorithm/token_bucket.h"
#include "status.h"

namespace rl::limiter {

// One atomic "consume `cost` tokens from the bucket at `key`" request.
struct BucketRequest {
  std::string key;
  TokenBucketParams params;
  int64_t cost = 1;
};

// The store's answer, decided on the store's clock.
struct BucketAnswer {
  bool allowed = false;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;
  int64_t now_ms = 0;  // the store's clock at decision time
};

// Where limit state lives. Implementations are thread-safe. A failed Result means the store could
// not decide (unreachable, timeout, bad reply); the caller then applies the fail mode.
class DecisionStore {
 public:
  virtual ~DecisionStore() = default;
  virtual common::Result<BucketAnswer> Consume(const BucketRequest& request) = 0;
  // Round trip to the store, for health checks.
  virtual common::Status Ping(int64_t* latency_us) = 0;
};

}  // namespace rl::limiter
