#include "algorithm/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace rl::limiter {

BucketDecision DecideTokenBucket(const std::optional<BucketState>& prior, int64_t now_us,
                                 const TokenBucketParams& params, int64_t cost) {
  const double capacity = static_cast<double>(params.capacity);
  const double rate = params.refill_per_sec;
  double tokens = capacity;
  int64_t updated_us = now_us;
  if (prior.has_value()) {
    tokens = prior->tokens;
    updated_us = prior->updated_us;
    if (now_us > updated_us) {
      tokens = std::min(capacity, tokens + static_cast<double>(now_us - updated_us) * rate / 1e6);
      updated_us = now_us;
    }
  }
  BucketDecision d;
  d.allowed = tokens >= static_cast<double>(cost);
  if (d.allowed) {
    tokens = tokens - static_cast<double>(cost);
  } else {
    d.retry_after_ms =
        static_cast<int64_t>(std::ceil((static_cast<double>(cost) - tokens) * 1000.0 / rate));
  }
  d.state = BucketState{tokens, updated_us};
  d.remaining = static_cast<int64_t>(std::floor(tokens));
  d.reset_ms = static_cast<int64_t>(std::ceil((capacity - tokens) * 1000.0 / rate));
  d.ttl_ms = d.reset_ms + kTtlMarginMs;
  return d;
}

}  // namespace rl::limiter
