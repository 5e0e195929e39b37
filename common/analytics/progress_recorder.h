#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "common/analytics/limiter_ledger.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"

namespace rl::analytics {

// Keeps a decision maker's entry of the ledger (a limiter's, or the gateway's for its fail-mode
// answers) (common/analytics/limiter_ledger.h): how far it decided
// (its highest event sequence). Tick() records when something new was decided, and once a second
// anyway so that the record's age tells a live limiter from a dead one; the limiter calls it every
// LIMITER_PROGRESS_INTERVAL_MS from a common::PeriodicThread. Events a crash loses (a SIGKILL with
// events in the producer buffer) are then visible in GET /analytics/limiters as decided but never
// counted; only what was decided after the last record (one interval plus one Redis round trip)
// is not. A failed write is counted, logged (throttled) and retried at the next tick.
// Thread-safe.
class ProgressRecorder {
 public:
  // `decided` returns the highest event sequence handed out so far.
  ProgressRecorder(LimiterLedger& ledger, std::string limiter_id, std::function<uint64_t()> decided,
                   const common::Clock& clock, common::MetricsRegistry& metrics);

  void Tick();
  // The last record, with state "stopped" (a clean shutdown); call it after the ticks stopped.
  // True if it was written.
  bool Finish();

 private:
  bool Record(const char* state, uint64_t decided);

  LimiterLedger& ledger_;
  const std::string limiter_id_;
  const std::function<uint64_t()> decided_;
  const common::Clock& clock_;
  common::Counter& failed_;
  common::LogThrottle log_;
  std::mutex mu_;
  uint64_t recorded_ = 0;       // guarded by mu_
  int64_t recorded_at_ms_ = 0;  // guarded by mu_; 0: never
};

}  // namespace rl::analytics
