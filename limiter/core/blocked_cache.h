#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "limiter/core/decision_store.h"

namespace rl::limiter {

// Remembers what the store has just said: when a request was blocked until T (its
// retry_after_ms), the same request (same rules, parameters and cost) is blocked until T without
// asking the store again. Waiting only ever frees capacity and consuming only ever takes it, so
// the store would answer "blocked" as well: nothing is over-admitted. The local answer is the
// store's with its times counted down (`remaining` is as the store last said). Not cached:
// answers of requests with a penalty rule (each block must count its strike), bans, and anything
// admitted. The decision core asks it while it plans (Lookup) and tells it the store's answers
// when it completes (Remember).
//
// An admin reset (Reset, through CacheResettingAdminStore) forgets everything, so a reset user is
// admitted at once, and calls `announce_reset` so that every other limiter's cache forgets too
// (Forget(), from the invalidation feed: limiter/store/cache_invalidation.h). While that feed is
// down (SetShared(false)), an announcement could be missed, so nothing is answered from the
// cache. A store that lost its data (a Redis restart) cuts the invalidation feed too, so the cache
// is emptied and bypassed until the feed is back; an edit of the store's data behind the
// limiter's back other than an admin reset makes the local answer err on the side of blocking,
// until T (set BLOCKED_CACHE_ENTRIES=0 where that is done). Holds at most `max_entries` requests
// (0: caches nothing). Thread-safe.
class BlockedCache {
 public:
  BlockedCache(const common::Clock& clock, common::MetricsRegistry& metrics,
               size_t max_entries = 100000);

  // Where a store call began: its time and how many times the cache had forgotten by then. An
  // answer is remembered only if no Forget() came in between (a reset landing while the store
  // decided must not be undone by caching what Redis said before it).
  struct Ticket {
    int64_t before_us = 0;
    uint64_t generation = 0;
  };
  Ticket Begin() const;

  // What identifies "the same request": every rule's key, parameters, shadow flag, and the cost.
  // Empty for a request that may not be cached (a penalty rule) or while the cache is bypassed.
  std::string SignatureOf(const std::vector<RuleCheck>& checks) const;
  // The cached answer of the request with this (non-empty) signature, its times counted down,
  // while it still holds.
  std::optional<StoreAnswer> Lookup(const std::string& signature);
  // The store's answer to the request with `checks`, asked at `ticket`: kept when it blocks.
  void Remember(const std::string& signature, const std::vector<RuleCheck>& checks,
                const StoreAnswer& answer, Ticket ticket);

  // Called after every Reset, once the store has deleted (may be empty).
  void OnReset(std::function<void()> announce_reset) {
    announce_reset_ = std::move(announce_reset);
  }
  // An admin reset: deletes `keys` through `admin`, with everything cached forgotten before and
  // after, then announced.
  common::Result<int64_t> Reset(AdminStore& admin, const std::vector<std::string>& keys);
  // Another limiter changed the store's state behind this one: forget every cached answer.
  void Forget();
  // Whether the feed that carries other limiters' resets is up; while it is not, the cache is
  // bypassed (and emptied).
  void SetShared(bool up);

  // The signature of `checks` whatever the cache's state. Pure.
  static std::string Signature(const std::vector<RuleCheck>& checks);

 private:
  struct Entry {
    int64_t until_us = 0;  // local monotonic time
    int64_t at_us = 0;     // when the store answered
    StoreAnswer answer;
  };

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

// The admin store with its resets made through the blocked cache (BlockedCache::Reset).
class CacheResettingAdminStore final : public AdminStore {
 public:
  CacheResettingAdminStore(AdminStore& inner, BlockedCache& cache)
      : inner_(inner), cache_(cache) {}
  common::Status Ping(int64_t* latency_us) override { return inner_.Ping(latency_us); }
  common::Result<KeyState> Inspect(const std::string& key) override { return inner_.Inspect(key); }
  common::Result<int64_t> Delete(const std::vector<std::string>& keys) override {
    return cache_.Reset(inner_, keys);
  }

 private:
  AdminStore& inner_;
  BlockedCache& cache_;
};

}  // namespace rl::limiter
