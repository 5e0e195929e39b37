#pragma once

#include <cstdint>
#include <optional>

namespace rl::limiter {

// A token bucket: holds up to `capacity` tokens and gains `refill_per_sec` tokens per second,
// fractions included. A request of cost c is allowed iff the bucket holds >= c tokens.
struct TokenBucketParams {
  int64_t capacity = 10;
  double refill_per_sec = 1.0;  // > 0
};

// What is stored per key. Times are microseconds of the decision clock (Redis TIME).
struct BucketState {
  double tokens = 0;
  int64_t updated_us = 0;
};

struct BucketDecision {
  bool allowed = false;
  BucketState state;           // the state to store after this decision
  int64_t remaining = 0;       // whole tokens left, floor(state.tokens)
  int64_t reset_ms = 0;        // until the bucket is full again
  int64_t retry_after_ms = 0;  // until `cost` tokens are there; 0 when allowed
  int64_t ttl_ms = 0;          // key lifetime: time to refill fully plus kTtlMarginMs
};

inline constexpr int64_t kTtlMarginMs = 1000;

// The reference model. limiter/scripts/token_bucket.lua computes exactly this, step by step in
// the same order, so that both give bit-identical results. `prior` is nullopt for a new key, which
// starts full. A clock that goes backwards (failover to a replica) refills nothing.
BucketDecision DecideTokenBucket(const std::optional<BucketState>& prior, int64_t now_us,
                                 const TokenBucketParams& params, int64_t cost);

}  // namespace rl::limiter
