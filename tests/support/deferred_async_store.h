#pragma once
// The AsyncDecisionStore of unit tests: remembers each call and answers it only when the test
// says (Deliver), from a synchronous store (the memory model), as a loop's store answers later.

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "limiter/core/decision_store.h"

namespace rl::limiter {

class DeferredAsyncStore final : public AsyncDecisionStore {
 public:
  DeferredAsyncStore(DecisionStore& decisions, ApiKeyStore& api_keys)
      : decisions_(decisions), api_keys_(api_keys) {}

  void DecideMany(const std::vector<std::vector<RuleCheck>>& requests, int64_t deadline_us,
                  std::function<void(Answers)> done) override {
    deadlines_.push_back(deadline_us);
    ++decide_calls_;
    pending_.push_back([this, requests, done = std::move(done)] {
      done(decisions_.DecideMany(requests));
    });
  }
  void LookupApiKeys(const std::string& hash, const std::vector<std::string>& api_keys,
                     int64_t deadline_us, std::function<void(Entries)> done) override {
    deadlines_.push_back(deadline_us);
    ++lookup_calls_;
    pending_.push_back([this, hash, api_keys, done = std::move(done)] {
      done(api_keys_.LookupApiKeys(hash, api_keys));
    });
  }

  // Answers the oldest call not answered yet; false if there is none.
  bool Deliver() {
    if (pending_.empty()) return false;
    auto answer = std::move(pending_.front());
    pending_.pop_front();
    answer();
    return true;
  }
  // Answers every call, those the answers cause included.
  void DeliverAll() {
    while (Deliver()) {
    }
  }
  size_t waiting() const { return pending_.size(); }
  int decide_calls() const { return decide_calls_; }
  int lookup_calls() const { return lookup_calls_; }
  const std::vector<int64_t>& deadlines() const { return deadlines_; }

 private:
  DecisionStore& decisions_;
  ApiKeyStore& api_keys_;
  std::deque<std::function<void()>> pending_;
  std::vector<int64_t> deadlines_;
  int decide_calls_ = 0;
  int lookup_calls_ = 0;
};

}  // namespace rl::limiter
