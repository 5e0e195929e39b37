#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/base/clock.h"
#include "limiter/core/decision_store.h"
#include "tests/support/algorithm_model.h"

namespace rl::limiter {

// In-memory DecisionStore over the reference model (DecideRules) and a manual clock, with an
// injectable failure; for unit tests.
class MemoryDecisionStore final : public DecisionStore {
 public:
  explicit MemoryDecisionStore(const common::Clock& clock) : clock_(clock) {}

  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override {
    std::lock_guard lock(mu_);
    if (failure_) return *failure_;
    ++decisions_;
    return StoreAnswer{clock_.NowMs(), DecideRules(model_, clock_.MonotonicUs(), checks)};
  }
  common::Status Ping(int64_t* latency_us) override {
    *latency_us = 0;
    std::lock_guard lock(mu_);
    return failure_ ? *failure_ : common::Status::Ok();
  }
  common::Result<std::optional<std::string>> LookupApiKey(const std::string& hash,
                                                          const std::string& key) override {
    std::lock_guard lock(mu_);
    if (failure_) return *failure_;
    auto it = api_keys_.find(hash + "/" + key);
    return it == api_keys_.end() ? std::optional<std::string>() : std::optional(it->second);
  }
  common::Result<KeyState> Inspect(const std::string& key) override {
    std::lock_guard lock(mu_);
    KeyState state;
    state.type = model_.states.count(key) ? "hash" : "none";
    return state;
  }
  common::Result<int64_t> Delete(const std::vector<std::string>& keys) override {
    std::lock_guard lock(mu_);
    int64_t n = 0;
    for (const auto& k : keys) n += model_.states.erase(k) + model_.ban_until_us.erase(k);
    return n;
  }

  void Fail(common::Status status) {
    std::lock_guard lock(mu_);
    failure_ = std::move(status);
  }
  void Recover() {
    std::lock_guard lock(mu_);
    failure_.reset();
  }
  void SetApiKey(const std::string& hash, const std::string& key, const std::string& entry) {
    std::lock_guard lock(mu_);
    api_keys_[hash + "/" + key] = entry;
  }
  size_t KeyCount() const {
    std::lock_guard lock(mu_);
    return model_.states.size();
  }
  int decisions() const {
    std::lock_guard lock(mu_);
    return decisions_;
  }

 private:
  const common::Clock& clock_;
  mutable std::mutex mu_;
  ModelStore model_;
  std::map<std::string, std::string> api_keys_;
  std::optional<common::Status> failure_;
  int decisions_ = 0;
};

}  // namespace rl::limiter
