#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "limiter/core/check_request.h"
#include "limiter/core/decision_event.h"
#include "limiter/core/decision_store.h"
#include "limiter/core/policy_holder.h"
#include "limiter/core/verdict.h"

namespace rl::limiter {

enum class FailMode { kOpen, kClosed };

struct ServiceOptions {
  FailMode fail_mode = FailMode::kOpen;       // FAIL_MODE
  int64_t fail_closed_retry_after_ms = 1000;  // FAIL_CLOSED_RETRY_AFTER_MS
  std::string limiter_id;                     // LIMITER_ID, prefix of every event_id
};

// One rule that applied, for RateLimit-Policy: its configured quota per window, and the burst
// (the bucket's capacity) where a bucket algorithm's differs from the quota.
struct RuleSummary {
  std::string name;
  int64_t quota = 0;     // the rule's `limit`
  int64_t window_s = 0;  // its `window`, rounded up to seconds
  int64_t burst = 0;     // 0 unless a bucket algorithm's capacity differs from `quota`
  bool shadow = false;   // in shadow mode: counted, never enforced, never in client headers
};

// The enforced rule that client headers speak for: the one that blocked, else the enforced one
// closest to its limit. Empty `rule` when every rule that applied is in shadow mode.
struct EnforcedLimit {
  std::string rule;
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
};

// The answer to one check, in the domain's terms: front ends map it to their protocol.
struct CheckResult {
  Verdict verdict = Verdict::kAllowed;
  bool allowed = false;  // Admits(verdict)
  std::string rule;      // the rule reported: the one that blocked, or the one closest to its limit
  bool unlimited = false;  // no rule limits the request (allow list, no rule matched)
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;  // until this request would be admitted: every rule and ban allows it
  int64_t window_s = 0;
  std::vector<RuleSummary> policies;  // every rule that applied
  EnforcedLimit enforced;             // what the RateLimit headers report
  std::string error_message;          // why, for kInvalid and kUnauthenticated

  // True when rules were decided by the store, so the limit state in the answer is real.
  bool HasLimitState() const;
};

// Decides one check: resolves the API key, lists and rules of the active policy, asks the store
// once, applies the fail mode when the store cannot answer, publishes one event per decision, and
// counts everything. Thread-safe.
class DecisionService {
 public:
  DecisionService(DecisionStore& store, DecisionEvents& events, const common::Clock& clock,
                  common::MetricsRegistry& metrics, const PolicyHolder& policies,
                  ServiceOptions options);

  CheckResult Check(const CheckRequest& request);
  // Decides several requests under one policy, the store's part in one round trip
  // (DecisionStore::DecideMany); each request all-or-nothing on its own, one result each, in
  // order. Check() is a batch of one.
  std::vector<CheckResult> CheckBatch(const std::vector<CheckRequest>& requests);

  std::shared_ptr<const ActivePolicy> policy() const { return policies_.Current(); }

  // The highest event sequence handed out: how many events this instance has decided.
  uint64_t events_decided() const { return sequence_.load(std::memory_order_relaxed); }

 private:
  CheckResult FailModeResult(const common::Status& why);
  // Why `request` can never be admitted under `checks` (a cost above a rule's capacity), if so.
  static std::optional<std::string> CostError(const CheckRequest& request,
                                              const std::vector<RuleCheck>& checks);
  CheckResult FromAnswer(const Policy& policy, const std::vector<RuleCheck>& checks,
                         const StoreAnswer& answer) const;
  void Publish(const std::string& user_id, const CheckRequest& request, const CheckResult& result,
               int64_t ts_ms);

  DecisionStore& store_;
  DecisionEvents& events_;
  const common::Clock& clock_;
  const PolicyHolder& policies_;
  const ServiceOptions options_;
  std::atomic<uint64_t> sequence_{0};

  std::array<common::Counter*, kVerdictCount> decisions_{};  // by Verdict; null if no decision
  common::Counter& store_unavailable_;
  common::Counter& store_timeout_;
  common::Counter& store_error_;
  common::LogThrottle store_log_;
};

}  // namespace rl::limiter
