#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <vector>

#include "analytics_sink.h"
#include "clock.h"
#include "kafka_consumer.h"
#include "logging.h"
#include "metrics.h"
#include "partition_batch.h"

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
// Positions live in the sink, never in Kafka. Runs on one thread (Run), which also receives the
// rebalance calls.
class ConsumerLoop final : public common::RebalanceListener {
 public:
  ConsumerLoop(AnalyticsSink& sink, const common::Clock& clock, common::MetricsRegistry& metrics,
               ConsumerLoopOptions options);

  // Consumes until `stop` becomes true; then applies what it holds and leaves the group.
  void Run(common::KafkaConsumer& consumer, const std::atomic<bool>& stop);

  std::map<int32_t, int64_t> OnAssigned(const std::vector<int32_t>& partitions) override;
  void OnRevoked(const std::vector<int32_t>& partitions) override;

  // Partitions owned right now; safe to read from any thread.
  int assigned_partitions() const { return assigned_.load(); }

 private:
  struct Partition {
    PartitionBatch batch;
    bool paused = false;
    int64_t retry_at_us = 0;
  };
  // One attempt to apply the partition's batch; true if nothing is left to apply.
  bool Flush(int32_t partition, Partition& state);
  void UpdateLag();

  AnalyticsSink& sink_;
  const common::Clock& clock_;
  common::MetricsRegistry& metrics_;
  const ConsumerLoopOptions options_;
  common::KafkaConsumer* consumer_ = nullptr;
  const std::atomic<bool>* stop_ = nullptr;
  std::map<int32_t, Partition> partitions_;
  std::atomic<int> assigned_{0};

  common::Counter& consumed_;
  common::Counter& applied_;
  common::Counter& rejected_;
  common::Counter& undecodable_;
  common::Counter& apply_errors_;
  common::Histogram& apply_latency_;
  common::LogThrottle error_log_;
};

}  // namespace rl::analytics
