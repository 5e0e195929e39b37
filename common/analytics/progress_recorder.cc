#include "common/analytics/progress_recorder.h"

#include <spdlog/spdlog.h>

namespace rl::analytics {

ProgressRecorder::ProgressRecorder(LimiterLedger& ledger, std::string limiter_id,
                                   std::function<uint64_t()> decided, const common::Clock& clock,
                                   common::MetricsRegistry& metrics)
    : ledger_(ledger),
      limiter_id_(std::move(limiter_id)),
      decided_(std::move(decided)),
      clock_(clock),
      failed_(
          metrics.AddCounter("rl_progress_record_failures_total",
                             "Records of how far this limiter decided that Redis did not take")),
      log_(clock, 10000) {}

void ProgressRecorder::Tick() {
  std::lock_guard lock(mu_);
  const uint64_t decided = decided_();
  const int64_t now_ms = clock_.NowMs();
  if (recorded_at_ms_ != 0 && decided == recorded_ && now_ms - recorded_at_ms_ < 1000) return;
  if (Record("running", decided)) {
    recorded_ = decided;
    recorded_at_ms_ = now_ms;
  }
}

bool ProgressRecorder::Finish() {
  std::lock_guard lock(mu_);
  return Record("stopped", decided_());
}

bool ProgressRecorder::Record(const char* state, uint64_t decided) {
  common::Status status = ledger_.Record(limiter_id_, decided, clock_.NowMs(), state);
  if (status.ok()) return true;
  failed_.Inc();
  uint64_t suppressed = 0;
  if (log_.ShouldLog(&suppressed)) {
    spdlog::warn("progress: could not record {} events decided ({}; {} more failures)", decided,
                 status.message(), suppressed);
  }
  return false;
}

}  // namespace rl::analytics
