#include "analytics-worker/consumer_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "analytics-worker/aggregator.h"
#include "proto-events/event_codec.h"

namespace rl::analytics {

ConsumerLoop::ConsumerLoop(AnalyticsSink& sink, const common::Clock& clock,
                           common::MetricsRegistry& metrics, ConsumerLoopOptions options)
    : sink_(sink),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      consumed_(metrics.AddCounter("rl_analytics_events_consumed_total",
                                   "Messages read from the decisions topic")),
      applied_(metrics.AddCounter("rl_analytics_batches_applied_total",
                                  "Batches applied to the analytics Redis")),
      rejected_(metrics.AddCounter("rl_analytics_batches_rejected_total",
                                   "Batches fenced off because another owner moved the position")),
      undecodable_(
          metrics.AddCounter("rl_analytics_undecodable_total",
                             "Messages that are not a Decision; skipped, offset advanced")),
      apply_errors_(metrics.AddCounter("rl_analytics_apply_errors_total",
                                       "Batch applies that failed (Redis unavailable); retried")),
      apply_latency_(metrics.AddHistogram("rl_analytics_apply_duration_seconds",
                                          "Time of one batch apply script call",
                                          common::LatencyBuckets())),
      error_log_(clock) {
  metrics.AddGaugeFn("rl_analytics_assigned_partitions", "Partitions this worker owns", {},
                     [this] { return static_cast<double>(assigned_.load()); });
}

std::map<int32_t, int64_t> ConsumerLoop::OnAssigned(const std::vector<int32_t>& partitions) {
  std::map<int32_t, int64_t> starts;
  auto loaded = sink_.LoadPositions(partitions);  // once: a rebalance callback must not wait
  if (!loaded.ok()) {
    apply_errors_.Inc();
    spdlog::warn(
        "analytics: cannot read the stored positions of {} assigned partitions ({}); they wait, "
        "paused, and are retried every {} ms",
        partitions.size(), loaded.status().message(), options_.retry_backoff_ms);
    for (int32_t p : partitions) {
      starts[p] = common::kOffsetLater;
      waiting_.push_back(p);
    }
    waiting_retry_at_us_ = clock_.MonotonicUs() + options_.retry_backoff_ms * 1000;
    CountAssigned();
    return starts;
  }
  std::string described;
  for (int32_t p : partitions) {
    auto it = loaded->find(p);
    std::optional<int64_t> start;
    if (it != loaded->end()) start = it->second;
    partitions_.insert_or_assign(p, Partition{PartitionBatch(start)});
    starts[p] = start ? *start : common::kOffsetBeginning;
    described += " " + std::to_string(p) + "@" + (start ? std::to_string(*start) : "beginning");
  }
  CountAssigned();
  spdlog::info("analytics: assigned partitions:{}", described);
  return starts;
}

void ConsumerLoop::StartWaitingPartitions(int64_t now_us) {
  if (waiting_.empty() || now_us < waiting_retry_at_us_ || !consumer_) return;
  auto loaded = sink_.LoadPositions(waiting_);
  if (!loaded.ok()) {
    apply_errors_.Inc();
    waiting_retry_at_us_ = now_us + options_.retry_backoff_ms * 1000;
    uint64_t suppressed = 0;
    if (error_log_.ShouldLog(&suppressed)) {
      spdlog::warn("analytics: still cannot read stored positions ({}); retrying ({} not logged)",
                   loaded.status().message(), suppressed);
    }
    return;
  }
  std::vector<int32_t> still_waiting;
  for (int32_t p : waiting_) {
    auto it = loaded->find(p);
    const std::optional<int64_t> start =
        it == loaded->end() ? std::nullopt : std::optional<int64_t>(it->second);
    if (auto s = consumer_->Seek(p, start ? *start : common::kOffsetBeginning); !s.ok()) {
      spdlog::warn("analytics: seek of partition {} failed ({}); retrying", p, s.message());
      still_waiting.push_back(p);
      continue;
    }
    StartPartition(p, start);
    consumer_->Resume(p);
  }
  waiting_ = std::move(still_waiting);
  waiting_retry_at_us_ = now_us + options_.retry_backoff_ms * 1000;
  CountAssigned();
}

void ConsumerLoop::StartPartition(int32_t partition, std::optional<int64_t> position) {
  partitions_.insert_or_assign(partition, Partition{PartitionBatch(position)});
  spdlog::info("analytics: partition {} starts at {}", partition,
               position ? std::to_string(*position) : "the beginning");
}

void ConsumerLoop::OnRevoked(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) {
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), p), waiting_.end());
    auto it = partitions_.find(p);
    if (it == partitions_.end()) continue;
    Flush(p, it->second);  // best effort; the next owner re-reads whatever did not land
    metrics_
        .AddGauge("rl_analytics_consumer_lag", "Messages in the partition not yet applied",
                  {{"partition", std::to_string(p)}})
        .Set(0);
    partitions_.erase(it);
    std::lock_guard lock(lags_mu_);
    lags_.erase(p);
  }
  CountAssigned();
  spdlog::info("analytics: revoked {} partitions", partitions.size());
}

bool ConsumerLoop::Flush(int32_t partition, Partition& state) {
  PartitionBatch& batch = state.batch;
  if (batch.empty()) return true;
  const int64_t start = *batch.start();
  const int64_t next = *batch.next();
  auto ops = AggregateDecisions(batch.decisions(), options_.retention_minutes);
  const int64_t t0 = clock_.MonotonicUs();
  auto result = sink_.ApplyBatch(partition, start, next, ops);
  const int64_t now = clock_.MonotonicUs();
  apply_latency_.Observe(static_cast<double>(now - t0) / 1e6);
  if (!result.ok()) {
    apply_errors_.Inc();
    state.retry_at_us = now + options_.retry_backoff_ms * 1000;
    uint64_t suppressed = 0;
    if (error_log_.ShouldLog(&suppressed)) {
      spdlog::warn(
          "analytics: batch of partition {} [{}, {}) not applied, will retry: {} ({} "
          "similar failures not logged)",
          partition, start, next, result.status().message(), suppressed);
    }
    if (!state.paused && batch.messages() >= options_.batch_max_events && consumer_) {
      consumer_->Pause(partition);  // bound memory until Redis takes the batch
      state.paused = true;
    }
    return false;
  }
  if (result->applied) {
    applied_.Inc();
    batch.MarkApplied();
    if (consumer_) consumer_->CommitAsync(partition, next);
  } else {
    rejected_.Inc();
    spdlog::warn(
        "analytics: batch of partition {} [{}, {}) rejected: the stored position is {}; "
        "re-reading from there",
        partition, start, next, result->position);
    batch.ResetTo(result->position);
    if (consumer_) {
      if (auto s = consumer_->Seek(partition, result->position); !s.ok()) {
        spdlog::warn("analytics: seek of partition {} failed: {}", partition, s.message());
      }
    }
  }
  if (state.paused && consumer_) {
    consumer_->Resume(partition);
    state.paused = false;
  }
  return true;
}

void ConsumerLoop::UpdateLag() {
  std::map<int32_t, int64_t> lags;
  for (const auto& [p, state] : partitions_) {
    int64_t high = consumer_->HighWatermark(p);
    auto position = state.batch.start();
    if (high < 0 || !position) continue;
    const int64_t lag = std::max<int64_t>(0, high - *position);
    metrics_
        .AddGauge("rl_analytics_consumer_lag", "Messages in the partition not yet applied",
                  {{"partition", std::to_string(p)}})
        .Set(lag);
    lags[p] = lag;
  }
  std::lock_guard lock(lags_mu_);
  lags_ = std::move(lags);
}

std::map<int32_t, int64_t> ConsumerLoop::Lags() const {
  std::lock_guard lock(lags_mu_);
  return lags_;
}

void ConsumerLoop::Run(common::MessageConsumer& consumer, const std::atomic<bool>& stop) {
  Start(consumer);
  while (!stop.load()) Step(50);
  Finish();
}

void ConsumerLoop::Start(common::MessageConsumer& consumer) {
  consumer_ = &consumer;
  next_lag_update_us_ = 0;
}

void ConsumerLoop::Step(int poll_timeout_ms) {
  common::MessageConsumer& consumer = *consumer_;
  const int64_t max_age_us = static_cast<int64_t>(options_.batch_max_ms) * 1000;
  auto message = consumer.Poll(poll_timeout_ms);
  const int64_t now = clock_.MonotonicUs();
  if (message) {
    auto it = partitions_.find(message->partition);
    if (it != partitions_.end()) {
      consumed_.Inc();
      auto decision = events::DecodeDecision(message->payload);
      if (!decision) {
        undecodable_.Inc();
        uint64_t suppressed = 0;
        if (error_log_.ShouldLog(&suppressed)) {
          spdlog::warn("analytics: skipping undecodable message at partition {} offset {}",
                       message->partition, message->offset);
        }
      }
      it->second.batch.Add(message->offset, std::move(decision), now);
    }
  }
  StartWaitingPartitions(now);
  for (auto& [p, state] : partitions_) {
    const PartitionBatch& b = state.batch;
    bool due = b.messages() >= options_.batch_max_events || b.AgeUs(now) >= max_age_us;
    if (!b.empty() && due && now >= state.retry_at_us) Flush(p, state);
  }
  if (now >= next_lag_update_us_) {
    UpdateLag();
    next_lag_update_us_ = now + 1'000'000;
  }
}

void ConsumerLoop::Finish() {
  for (auto& [p, state] : partitions_) Flush(p, state);
  consumer_->Close();
  consumer_ = nullptr;
}

}  // namespace rl::analytics
