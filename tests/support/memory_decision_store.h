#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "limiter/core/decision_store.h"
#include "tests/support/algorithm_model.h"

namespace rl::limiter {

// In-memory store (every store port) over the reference model (DecideRules) and a manual clock, with an
// injectable failure; for unit tests.
class MemoryDecisionStore final : public DecisionStore, public ApiKeyStore, public AdminStore {
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
  std::vector<common::Result<std::optional<std::string>>> LookupApiKeys(
      const std::string& hash, const std::vector<std::string>& keys) override {
    std::lock_guard lock(mu_);
    ++lookup_round_trips_;
    std::vector<common::Result<std::optional<std::string>>> entries;
    for (const std::string& key : keys) {
      if (failure_) {
        entries.push_back(*failure_);
        continue;
      }
      auto it = api_keys_.find(hash + "/" + key);
      entries.push_back(it == api_keys_.end() ? std::optional<std::string>()
                                              : std::optional(it->second));
    }
    return entries;
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
  // How many times LookupApiKeys was called (each call is one round trip of a real store).
  int lookup_round_trips() const {
    std::lock_guard lock(mu_);
    return lookup_round_trips_;
  }

 private:
  const common::Clock& clock_;
  mutable std::mutex mu_;
  ModelStore model_;
  std::map<std::string, std::string> api_keys_;
  std::optional<common::Status> failure_;
  int decisions_ = 0;
  int lookup_round_trips_ = 0;
};

}  // namespace rl::limiter
