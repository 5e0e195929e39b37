#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "algorithm/token_bucket.h"
#include "clock.h"
#include "decision_store.h"

namespace rl::limiter {

// In-memory DecisionStore over the reference model and a manual clock, with an injectable
// failure; for unit tests.
class MemoryDecisionStore final : public DecisionStore {
 public:
  explicit MemoryDecisionStore(const common::Clock& clock) : clock_(clock) {}

  common::Result<BucketAnswer> Consume(const BucketRequest& request) override {
    std::lock_guard lock(mu_);
    if (failure_) return *failure_;
    std::optional<BucketState> prior;
    if (auto it = buckets_.find(request.key); it != buckets_.end()) prior = it->second;
    BucketDecision d = DecideTokenBucket(prior, clock_.MonotonicUs(), request.params, request.cost);
    buckets_[request.key] = d.state;
    return BucketAnswer{d.allowed, d.remaining, d.reset_ms, d.retry_after_ms, clock_.NowMs()};
  }

  common::Status Ping(int64_t* latency_us) override {
    *latency_us = 0;
    std::lock_guard lock(mu_);
    return failure_ ? *failure_ : common::Status::Ok();
  }

  // Every call fails with `status` until Recover().
  void Fail(common::Status status) {
    std::lock_guard lock(mu_);
    failure_ = std::move(status);
  }
  void Recover() {
    std::lock_guard lock(mu_);
    failure_.reset();
  }
  size_t KeyCount() const {
    std::lock_guard lock(mu_);
    return buckets_.size();
  }

 private:
  const common::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, BucketState> buckets_;
  std::optional<common::Status> failure_;
};

}  // namespace rl::limiter
