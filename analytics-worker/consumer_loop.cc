#include "consumer_loop.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "event_codec.h"

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
  std::map<int32_t, int64_t> positions;
  while (true) {
    auto loaded = sink_.LoadPositions(partitions);
    if (loaded.ok()) {
      positions = std::move(loaded.value());
      break;
    }
    apply_errors_.Inc();
    spdlog::warn("analytics: cannot read stored positions ({}); retrying",
                 loaded.status().message());
    if (stop_ && stop_->load()) return {};  // stopping anyway; nothing will be applied
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_backoff_ms));
  }
  std::string described;
  for (int32_t p : partitions) {
    auto it = positions.find(p);
    std::optional<int64_t> start;
    if (it != positions.end()) start = it->second;
    partitions_.insert_or_assign(p, Partition{PartitionBatch(start)});
    described += " " + std::to_string(p) + "@" + (start ? std::to_string(*start) : "beginning");
  }
  assigned_ = static_cast<int>(partitions_.size());
  spdlog::info("analytics: assigned partitions:{}", described);
  return positions;
}

void ConsumerLoop::OnRevoked(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) {
    auto it = partitions_.find(p);
    if (it == partitions_.end()) continue;
    Flush(p, it->second);  // best effort; the next owner re-reads whatever did not land
    metrics_
        .AddGauge("rl_analytics_consumer_lag", "Messages in the partition not yet applied",
                  {{"partition", std::to_string(p)}})
        .Set(0);
    partitions_.erase(it);
  }
  assigned_ = static_cast<int>(partitions_.size());
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
  for (const auto& [p, state] : partitions_) {
    int64_t high = consumer_->HighWatermark(p);
    auto position = state.batch.start();
    if (high < 0 || !position) continue;
    metrics_
        .AddGauge("rl_analytics_consumer_lag", "Messages in the partition not yet applied",
                  {{"partition", std::to_string(p)}})
        .Set(std::max<int64_t>(0, high - *position));
  }
}

void ConsumerLoop::Run(common::KafkaConsumer& consumer, const std::atomic<bool>& stop) {
  consumer_ = &consumer;
  stop_ = &stop;
  const int64_t max_age_us = static_cast<int64_t>(options_.batch_max_ms) * 1000;
  int64_t next_lag_update_us = 0;
  while (!stop.load()) {
    auto message = consumer.Poll(50);
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
    for (auto& [p, state] : partitions_) {
      const PartitionBatch& b = state.batch;
      bool due = b.messages() >= options_.batch_max_events || b.AgeUs(now) >= max_age_us;
      if (!b.empty() && due && now >= state.retry_at_us) Flush(p, state);
    }
    if (now >= next_lag_update_us) {
      UpdateLag();
      next_lag_update_us = now + 1'000'000;
    }
  }
  for (auto& [p, state] : partitions_) Flush(p, state);
  consumer.Close();
  consumer_ = nullptr;
}

}  // namespace rl::analytics
