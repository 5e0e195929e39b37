#include "limiter/core/blocked_cache.h"

#include <algorithm>
#include <cstdio>

namespace rl::limiter {

BlockedCache::BlockedCache(const common::Clock& clock, common::MetricsRegistry& metrics,
                           size_t max_entries)
    : clock_(clock),
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

void BlockedCache::Forget() {
  {
    std::lock_guard lock(mu_);
    entries_.clear();
    ++generation_;  // answers in flight since before this are not cached
  }
  forgotten_.Inc();
}

void BlockedCache::SetShared(bool up) {
  if (!up) usable_ = false;
  Forget();  // whatever was cached may predate a reset that was missed
  if (up) usable_ = true;
  shared_.Set(up ? 1 : 0);
}

std::string BlockedCache::Signature(const std::vector<RuleCheck>& checks) {
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

std::string BlockedCache::SignatureOf(const std::vector<RuleCheck>& checks) const {
  return usable_ && max_entries_ > 0 ? Signature(checks) : std::string();
}

BlockedCache::Ticket BlockedCache::Begin() const {
  return {clock_.MonotonicUs(), generation_.load()};
}

std::optional<StoreAnswer> BlockedCache::Lookup(const std::string& signature) {
  if (signature.empty()) return std::nullopt;
  const int64_t now_us = clock_.MonotonicUs();
  std::lock_guard lock(mu_);
  auto it = entries_.find(signature);
  if (it == entries_.end()) return std::nullopt;
  if (now_us >= it->second.until_us) {
    entries_.erase(it);
    return std::nullopt;
  }
  // The store's answer, its times counted down from when it was given (so that the promised
  // retry is never earlier than the store's own).
  StoreAnswer answer = it->second.answer;
  const int64_t elapsed_ms = std::max<int64_t>(0, (now_us - it->second.at_us) / 1000);
  answer.now_ms += elapsed_ms;
  for (RuleAnswer& r : answer.answer.rules) {
    if (r.retry_after_ms > 0) r.retry_after_ms = std::max<int64_t>(1, r.retry_after_ms - elapsed_ms);
    r.reset_ms = std::max<int64_t>(0, r.reset_ms - elapsed_ms);
  }
  hits_.Inc();
  return answer;
}

void BlockedCache::Remember(const std::string& signature, const std::vector<RuleCheck>& checks,
                            const StoreAnswer& answer, Ticket ticket) {
  if (signature.empty() || answer.answer.refused_by_ban) return;
  // Blocked until when: the latest retry of the enforced rules (all of them must allow it).
  int64_t blocked_ms = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    const RuleAnswer& r = answer.answer.rules[i];
    if (r.banned_ms > 0) return;
    if (!checks[i].shadow && !r.allowed) blocked_ms = std::max(blocked_ms, r.retry_after_ms);
  }
  if (blocked_ms <= 0) return;
  const int64_t after_us = clock_.MonotonicUs();
  std::lock_guard lock(mu_);
  if (generation_.load() != ticket.generation) return;
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.until_us <= after_us ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= max_entries_) return;  // full of live entries: just don't cache
  }
  // Until no later than the store's own time (measured from before the call), counted down from
  // no earlier than its answer (after the call): neither side promises what the store would not.
  entries_[signature] = Entry{ticket.before_us + blocked_ms * 1000, after_us, answer};
}

common::Result<int64_t> BlockedCache::Reset(AdminStore& admin,
                                            const std::vector<std::string>& keys) {
  Forget();  // an admin reset: whoever it freed is admitted at once
  auto deleted = admin.Delete(keys);
  Forget();  // and nothing cached while it ran survives it
  if (announce_reset_) announce_reset_();
  return deleted;
}

}  // namespace rl::limiter
