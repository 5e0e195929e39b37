#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "limiter/core/decision_store.h"

namespace rl::limiter {

// Answers locally what the store has just said: when a request was blocked until T (its
// retry_after_ms), the same request (same rules, parameters and cost) is blocked until T without
// asking the store again. Waiting only ever frees capacity and consuming only ever takes it, so
// the store would answer "blocked" as well: nothing is over-admitted. The local answer is the
// store's with its times counted down (`remaining` is as the store last said). Not cached:
// answers of requests with a penalty rule (each block must count its strike), bans, and anything
// admitted. Delete (the admin reset) forgets everything, so a reset user is admitted at once, and
// calls `announce_reset` so that every other limiter's cache forgets too (Forget(), from the
// invalidation feed: limiter/store/cache_invalidation.h). While that feed is down (SetShared(false)), an
// announcement could be missed, so nothing is answered from the cache.
// A store that lost its data (a Redis restart) cuts the invalidation feed too, so the cache is
// emptied and bypassed until the feed is back; an edit of the store's data behind the limiter's
// back other than an admin reset makes the local answer err on the side of blocking, until T (set
// BLOCKED_CACHE_ENTRIES=0 where that is done). Holds at most `max_entries` requests (0: caches
// nothing). Thread-safe.
class BlockedCacheStore final : public DecisionStore, public AdminStore {
 public:
  // Decides through `inner`; the admin calls go to `admin` (its resets forget the cache).
  BlockedCacheStore(DecisionStore& inner, AdminStore& admin, const common::Clock& clock,
                    common::MetricsRegistry& metrics, size_t max_entries = 100000);

  // Called after every Delete, once the store has deleted (may be empty).
  void OnReset(std::function<void()> announce_reset) {
    announce_reset_ = std::move(announce_reset);
  }
  // Another limiter changed the store's state behind this one: forget every cached answer.
  void Forget();
  // Whether the feed that carries other limiters' resets is up; while it is not, the cache is
  // bypassed (and emptied).
  void SetShared(bool up);

  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override;
  std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) override {
    return inner_.DecideMany(requests);
  }
  common::Status Ping(int64_t* latency_us) override { return admin_.Ping(latency_us); }
  common::Result<KeyState> Inspect(const std::string& key) override { return admin_.Inspect(key); }
  common::Result<int64_t> Delete(const std::vector<std::string>& keys) override;

  // What identifies "the same request": every rule's key, parameters, shadow flag, and the cost.
  // Empty for a request that may not be cached (a penalty rule). Pure.
  static std::string Signature(const std::vector<RuleCheck>& checks);

 private:
  struct Entry {
    int64_t until_us = 0;  // local monotonic time
    int64_t at_us = 0;     // when the store answered
    StoreAnswer answer;
  };

  DecisionStore& inner_;
  AdminStore& admin_;
  const common::Clock& clock_;
  const size_t max_entries_;
  common::Counter& hits_;
  common::Counter& forgotten_;
  common::Gauge& shared_;
  std::function<void()> announce_reset_;
  std::atomic<bool> usable_{true};
  std::atomic<uint64_t> generation_{0};  // counts Forget(); written under mu_
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace rl::limiter
