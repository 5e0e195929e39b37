#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "analytics-worker/partition_batch.h"
#include "common/analytics/analytics_sink.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/kafka/kafka_consumer.h"

namespace rl::analytics {

struct ConsumerLoopOptions {
  size_t batch_max_events = 1000;    // ANALYTICS_BATCH_MAX_EVENTS
  int batch_max_ms = 200;            // ANALYTICS_BATCH_MAX_MS
  int64_t retention_minutes = 1440;  // ANALYTICS_RETENTION_MINUTES
  int retry_backoff_ms = 500;        // wait before retrying a batch Redis did not take
};

// Reads decision events and applies them to the sink exactly once: per partition, batches of
// up to batch_max_events or batch_max_ms go through AnalyticsSink::ApplyBatch, whose position
// check makes a batch count once even when two workers briefly both think they own a partition.
// Positions live in the sink, never in Kafka. Runs on one thread (Run, or Start/Step/Finish),
// which also receives the rebalance calls.
//
// On assignment the stored positions are read once; if the sink cannot answer, the partitions
// are assigned paused and Step() keeps trying (every retry_backoff_ms), then seeks each to its
// position and resumes it: the rebalance callback itself never waits.
class ConsumerLoop final : public common::RebalanceListener {
 public:
  ConsumerLoop(AnalyticsSink& sink, const common::Clock& clock, common::MetricsRegistry& metrics,
               ConsumerLoopOptions options);

  // Consumes until `stop` becomes true; then applies what it holds and leaves the group.
  void Run(common::MessageConsumer& consumer, const std::atomic<bool>& stop);

  // Run, one piece at a time (for tests on a manual clock): Start once, Step repeatedly (one
  // poll of up to poll_timeout_ms, then whatever is due), Finish once.
  void Start(common::MessageConsumer& consumer);
  void Step(int poll_timeout_ms);
  void Finish();

  std::map<int32_t, int64_t> OnAssigned(const std::vector<int32_t>& partitions) override;
  void OnRevoked(const std::vector<int32_t>& partitions) override;

  // Partitions owned right now (those still waiting for their positions included); safe to
  // read from any thread.
  int assigned_partitions() const { return assigned_.load(); }
  // Each owned partition's lag (messages not yet applied), as last measured (every second); safe
  // to read from any thread.
  std::map<int32_t, int64_t> Lags() const;

 private:
  struct Partition {
    PartitionBatch batch;
    bool paused = false;
    int64_t retry_at_us = 0;
  };
  // One attempt to apply the partition's batch; true if nothing is left to apply.
  bool Flush(int32_t partition, Partition& state);
  // Reads the positions of the partitions waiting for them; starts those it could read.
  void StartWaitingPartitions(int64_t now_us);
  void StartPartition(int32_t partition, std::optional<int64_t> position);
  void UpdateLag();
  void CountAssigned() { assigned_ = static_cast<int>(partitions_.size() + waiting_.size()); }

  AnalyticsSink& sink_;
  const common::Clock& clock_;
  common::MetricsRegistry& metrics_;
  const ConsumerLoopOptions options_;
  common::MessageConsumer* consumer_ = nullptr;
  std::map<int32_t, Partition> partitions_;
  std::vector<int32_t> waiting_;  // assigned, paused, positions not read yet
  int64_t waiting_retry_at_us_ = 0;
  int64_t next_lag_update_us_ = 0;
  std::atomic<int> assigned_{0};
  mutable std::mutex lags_mu_;
  std::map<int32_t, int64_t> lags_;  // guarded by lags_mu_

  common::Counter& consumed_;
  common::Counter& applied_;
  common::Counter& rejected_;
  common::Counter& undecodable_;
  common::Counter& apply_errors_;
  common::Histogram& apply_latency_;
  common::LogThrottle error_log_;
};

}  // namespace rl::analytics
