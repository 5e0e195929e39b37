#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/settings.h"
#include "common/base/status.h"

namespace rl::common {

struct KafkaProducerOptions {
  std::string brokers = "127.0.0.1:9092";  // KAFKA_BROKERS
  std::string topic = "rl.decisions.v1";   // KAFKA_TOPIC
  int partitions = 12;                     // KAFKA_PARTITIONS, used when creating the topic
  int replication_factor = 1;              // KAFKA_REPLICATION_FACTOR
  int queue_max_messages = 100000;         // KAFKA_QUEUE_MAX_MESSAGES: local buffer bound
  // How long events wait to fill a batch. librdkafka sends one produce request per partition
  // batch, so short lingers over many partitions cost the broker dearly: 5 ms measured 94 us of
  // broker CPU per event, 100 ms a few (docs/performance.md). Answers never wait for it.
  int linger_ms = 100;              // KAFKA_LINGER_MS
  int message_timeout_ms = 300000;  // KAFKA_MESSAGE_TIMEOUT_MS: give up on one event
  std::map<std::string, std::string> extra_config;  // passed to librdkafka as is
};

// Counters the producer maintains; all must outlive the producer.
struct KafkaProducerMetrics {
  Counter* delivered;        // acknowledged by the broker (acks=all)
  Counter* delivery_failed;  // failed after retries, or purged at shutdown
  Counter* restarts;         // producer recreated after a fatal idempotence error
};

// Loads KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR,
// KAFKA_QUEUE_MAX_MESSAGES, KAFKA_LINGER_MS, KAFKA_MESSAGE_TIMEOUT_MS over the defaults in `o`,
// and the security settings (KafkaSecurityConfig) from `env`: every producer of decision events
// reads them the same way.
void LoadKafkaProducerOptions(SettingsLoader& load, const EnvSource& env, KafkaProducerOptions* o);

// The producer's counters (rl_events_delivered_total, rl_events_delivery_failed_total,
// rl_kafka_producer_restarts_total), registered once in `metrics`.
KafkaProducerMetrics RegisterKafkaProducerMetrics(MetricsRegistry& metrics);

// Idempotent, asynchronous Kafka producer. Produce() never blocks: it hands the message to
// librdkafka's bounded local queue or reports that the queue is full. A background thread serves
// delivery reports and recreates the producer after a fatal error; another creates the topic
// (partitions as configured) until that succeeds. Thread-safe.
class KafkaProducer {
 public:
  enum class Enqueued { kQueued, kQueueFull, kFailed };

  static Result<std::unique_ptr<KafkaProducer>> Create(KafkaProducerOptions options,
                                                       KafkaProducerMetrics metrics,
                                                       const Clock& clock);
  ~KafkaProducer();  // stops the threads; call Flush() first to deliver what is queued

  Enqueued Produce(std::string_view key, std::string_view value);

  // Waits up to timeout_ms for queued messages to be delivered; returns how many were not.
  int64_t Flush(int timeout_ms);

  // Messages waiting locally or in flight.
  int64_t QueueLength() const;

  // Asks a broker for metadata; ok with the round-trip time, or why no broker answered.
  Status ProbeBroker(int timeout_ms, int64_t* latency_us) const;

  bool topic_ready() const { return topic_ready_.load(); }

  // Test seam: makes librdkafka raise a fatal error on the current producer, as a broken
  // idempotence sequence would. Only tests call it.
  void InjectFatalErrorForTest();

  struct Handle;  // one librdkafka producer instance; public for the C callbacks only

 private:
  KafkaProducer(KafkaProducerOptions options, KafkaProducerMetrics metrics, const Clock& clock);
  Result<std::shared_ptr<Handle>> NewHandle();
  std::shared_ptr<Handle> CurrentHandle() const;
  void PollLoop();
  void EnsureTopicLoop();

  friend void OnDelivery(void*, const void*, void*);
  friend void OnError(void*, int, const char*, void*);

  const KafkaProducerOptions options_;
  const KafkaProducerMetrics metrics_;
  const Clock& clock_;
  LogThrottle delivery_log_;
  LogThrottle error_log_;

  mutable std::mutex handle_mu_;
  std::shared_ptr<Handle> handle_;
  std::atomic<bool> fatal_{false};
  std::atomic<bool> topic_ready_{false};

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread poll_thread_;
  std::thread topic_thread_;
};

}  // namespace rl::common
