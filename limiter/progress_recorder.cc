#include "limiter/progress_recorder.h"

#include <spdlog/spdlog.h>

#include "common/analytics/limiter_ledger.h"

namespace rl::limiter {

ProgressRecorder::ProgressRecorder(common::RedisPool& redis, std::string limiter_id,
                                   std::function<uint64_t()> decided, const common::Clock& clock,
                                   common::MetricsRegistry& metrics, int interval_ms)
    : redis_(redis),
      limiter_id_(std::move(limiter_id)),
      key_(common::LimiterLedgerKey(limiter_id_)),
      decided_(std::move(decided)),
      clock_(clock),
      interval_ms_(interval_ms),
      failed_(
          metrics.AddCounter("rl_progress_record_failures_total",
                             "Records of how far this limiter decided that Redis did not take")),
      log_(clock, 10000),
      thread_([this] { Loop(); }) {}

ProgressRecorder::~ProgressRecorder() { Stop(); }

void ProgressRecorder::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool ProgressRecorder::Finish() {
  Stop();
  return Record("stopped", decided_());
}

void ProgressRecorder::Loop() {
  uint64_t recorded = 0;
  int64_t recorded_at_ms = 0;
  while (true) {
    // A record when there is news, and one a second anyway so that its age tells a live limiter
    // from a dead one.
    const uint64_t decided = decided_();
    if (recorded_at_ms == 0 || decided != recorded || clock_.NowMs() - recorded_at_ms >= 1000) {
      if (Record("running", decided)) {
        recorded = decided;
        recorded_at_ms = clock_.NowMs();
      }
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; })) {
      return;
    }
  }
}

bool ProgressRecorder::Record(const char* state, uint64_t decided) {
  auto reply = redis_.Command({"HSET", key_, "decided", std::to_string(decided), "recorded_at_ms",
                               std::to_string(clock_.NowMs()), "state", state});
  if (reply.ok() && !reply->is_error() && !registered_) {
    reply = redis_.Command({"SADD", common::kLimitersKey, limiter_id_});
    registered_ = reply.ok() && !reply->is_error();
  }
  if (reply.ok() && !reply->is_error()) return true;
  failed_.Inc();
  uint64_t suppressed = 0;
  if (log_.ShouldLog(&suppressed)) {
    spdlog::warn("progress: could not record {} events decided in {} ({}; {} more failures)",
                 decided, redis_.endpoint().Describe(),
                 reply.ok() ? reply->str : reply.status().message(), suppressed);
  }
  return false;
}

}  // namespace rl::limiter
