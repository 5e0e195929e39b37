#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "check_request.h"
#include "clock.h"
#include "decision.pb.h"
#include "decision_store.h"
#include "event_publisher.h"
#include "logging.h"
#include "metrics.h"

namespace rl::limiter {

enum class FailMode { kOpen, kClosed };

struct DecisionPolicy {
  TokenBucketParams bucket;                   // DEFAULT_CAPACITY, DEFAULT_REFILL_PER_SEC
  std::string rule = "default";               // name reported in answers, headers and events
  FailMode fail_mode = FailMode::kOpen;       // FAIL_MODE
  int64_t fail_closed_retry_after_ms = 1000;  // FAIL_CLOSED_RETRY_AFTER_MS
  std::string limiter_id;                     // LIMITER_ID, prefix of every event_id
};

// The answer to one check, before it is mapped to HTTP.
struct CheckResult {
  events::v1::Outcome outcome = events::v1::OUTCOME_UNSPECIFIED;
  bool allowed = false;
  std::string rule;
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;
  int64_t window_s = 0;  // time for an empty bucket to refill fully, rounded up

  // 200 allowed (including fail_open), 429 blocked, 503 fail_closed.
  int HttpStatus() const;
  // True when the store decided, so the limit state in the answer is real.
  bool HasLimitState() const;
};

// Decides one check: asks the store, applies the fail mode when the store cannot answer,
// publishes one event per decision, and counts everything. Thread-safe.
class DecisionService {
 public:
  DecisionService(DecisionStore& store, EventPublisher& publisher, const common::Clock& clock,
                  common::MetricsRegistry& metrics, DecisionPolicy policy);

  CheckResult Check(const CheckRequest& request);

  const DecisionPolicy& policy() const { return policy_; }

 private:
  CheckResult FailModeResult() const;
  void Publish(const CheckRequest& request, const CheckResult& result, int64_t ts_ms);
  common::Counter& OutcomeCounter(events::v1::Outcome outcome);

  DecisionStore& store_;
  EventPublisher& publisher_;
  const common::Clock& clock_;
  const DecisionPolicy policy_;
  std::atomic<uint64_t> sequence_{0};

  common::Counter& allowed_;
  common::Counter& blocked_;
  common::Counter& fail_open_;
  common::Counter& fail_closed_;
  common::Counter& store_unavailable_;
  common::Counter& store_timeout_;
  common::Counter& store_error_;
  common::LogThrottle store_log_;
};

}  // namespace rl::limiter
