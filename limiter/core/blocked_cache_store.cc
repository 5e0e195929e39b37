#include "limiter/core/blocked_cache_store.h"

#include <algorithm>
#include <cstdio>

namespace rl::limiter {

BlockedCacheStore::BlockedCacheStore(DecisionStore& inner, AdminStore& admin,
                                     const common::Clock& clock, common::MetricsRegistry& metrics,
                                     size_t max_entries)
    : inner_(inner),
      admin_(admin),
      clock_(clock),
      max_entries_(max_entries),
      hits_(metrics.AddCounter("rl_blocked_cache_hits_total",
                               "Blocked answers given locally until the store's retry time")),
      forgotten_(metrics.AddCounter(
          "rl_blocked_cache_invalidations_total",
          "Times the blocked cache forgot everything: an admin reset here or on another limiter")),
      shared_(metrics.AddGauge("rl_blocked_cache_usable",
                               "1 while the blocked cache may answer (the feed of other limiters' "
                               "resets is up), 0 while every check goes to the store")) {
  shared_.Set(1);
}

void BlockedCacheStore::Forget() {
  {
    std::lock_guard lock(mu_);
    entries_.clear();
    ++generation_;  // answers in flight since before this are not cached
  }
  forgotten_.Inc();
}

void BlockedCacheStore::SetShared(bool up) {
  if (!up) usable_ = false;
  Forget();  // whatever was cached may predate a reset that was missed
  if (up) usable_ = true;
  shared_.Set(up ? 1 : 0);
}

std::string BlockedCacheStore::Signature(const std::vector<RuleCheck>& checks) {
  std::string signature;
  for (const RuleCheck& c : checks) {
    if (c.penalty.blocks > 0) return "";  // every block must reach the store: it counts strikes
    char params[160];
    std::snprintf(params, sizeof(params), "\x1f%d/%lld/%lld/%lld/%.17g/%lld/%d\x1e",
                  static_cast<int>(c.params.algorithm), static_cast<long long>(c.params.limit),
                  static_cast<long long>(c.params.window_ms),
                  static_cast<long long>(c.params.burst), c.params.RatePerUs(),
                  static_cast<long long>(c.cost), c.shadow ? 1 : 0);
    signature += c.key;
    signature += params;
  }
  return signature;
}

common::Result<StoreAnswer> BlockedCacheStore::Decide(const std::vector<RuleCheck>& checks) {
  const std::string signature = usable_ ? Signature(checks) : std::string();
  const int64_t before_us = clock_.MonotonicUs();
  if (!signature.empty()) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(signature); it != entries_.end()) {
      if (before_us < it->second.until_us) {
        // The store's answer, its times counted down from when it was given (so that the
        // promised retry is never earlier than the store's own).
        StoreAnswer answer = it->second.answer;
        const int64_t elapsed_ms = std::max<int64_t>(0, (before_us - it->second.at_us) / 1000);
        answer.now_ms += elapsed_ms;
        for (RuleAnswer& r : answer.answer.rules) {
          if (r.retry_after_ms > 0)
            r.retry_after_ms = std::max<int64_t>(1, r.retry_after_ms - elapsed_ms);
          r.reset_ms = std::max<int64_t>(0, r.reset_ms - elapsed_ms);
        }
        hits_.Inc();
        return answer;
      }
      entries_.erase(it);
    }
  }
  // A reset that lands while the store decides must not be undone by caching an answer Redis
  // gave before it.
  const uint64_t generation = generation_.load();
  common::Result<StoreAnswer> answer = inner_.Decide(checks);
  if (!answer.ok() || signature.empty() || answer->answer.refused_by_ban) return answer;
  // Blocked until when: the latest retry of the enforced rules (all of them must allow it).
  int64_t blocked_ms = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    const RuleAnswer& r = answer->answer.rules[i];
    if (r.banned_ms > 0) return answer;
    if (!checks[i].shadow && !r.allowed) blocked_ms = std::max(blocked_ms, r.retry_after_ms);
  }
  if (blocked_ms <= 0) return answer;
  const int64_t after_us = clock_.MonotonicUs();
  std::lock_guard lock(mu_);
  if (generation_.load() != generation) return answer;
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.until_us <= after_us ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= max_entries_) return answer;  // full of live entries: just don't cache
  }
  // Until no later than the store's own time (measured from before the call), counted down from
  // no earlier than its answer (after the call): neither side promises what the store would not.
  entries_[signature] = Entry{before_us + blocked_ms * 1000, after_us, answer.value()};
  return answer;
}

common::Result<int64_t> BlockedCacheStore::Delete(const std::vector<std::string>& keys) {
  Forget();  // an admin reset: whoever it freed is admitted at once
  auto deleted = admin_.Delete(keys);
  Forget();  // and nothing cached while it ran survives it
  if (announce_reset_) announce_reset_();
  return deleted;
}

}  // namespace rl::limiter
