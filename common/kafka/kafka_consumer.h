#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/status.h"

namespace rl::common {

struct KafkaConsumerOptions {
  std::string brokers = "127.0.0.1:9092";  // KAFKA_BROKERS
  std::string topic = "rl.decisions.v1";   // KAFKA_TOPIC
  std::string group = "rl-analytics";      // KAFKA_GROUP
  int session_timeout_ms = 10000;          // KAFKA_SESSION_TIMEOUT_MS
  int partitions = 12;                     // KAFKA_PARTITIONS, if the topic must be created
  int replication_factor = 1;              // KAFKA_REPLICATION_FACTOR
  // The broker answers a fetch once it has this many bytes for it, or after fetch_wait_max_ms:
  // few large fetches instead of one per produced batch (broker CPU), at most that much added lag
  // (docs/performance.md).
  int fetch_min_bytes = 262144;                     // KAFKA_FETCH_MIN_BYTES
  int fetch_wait_max_ms = 250;                      // KAFKA_FETCH_WAIT_MAX_MS
  std::map<std::string, std::string> extra_config;  // passed to librdkafka as is
};

struct ConsumedMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string payload;
};

// Start offsets a RebalanceListener may answer besides real offsets.
inline constexpr int64_t kOffsetBeginning = -2;  // the oldest message kept
inline constexpr int64_t kOffsetLater = -1000;   // assign paused; the listener Seeks and Resumes

// Told about partition ownership changes. Called from inside MessageConsumer::Poll/Close, on the
// polling thread, where it must not block for long: it is the group's rebalance.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // The partitions just assigned; returns where to start reading each one (an offset,
  // kOffsetBeginning, or kOffsetLater). Partitions missing from the map start at the beginning.
  virtual std::map<int32_t, int64_t> OnAssigned(const std::vector<int32_t>& partitions) = 0;
  // The partitions about to be taken away; finish with them before returning.
  virtual void OnRevoked(const std::vector<int32_t>& partitions) = 0;
};

// Reading one topic as a consumer-group member: what the analytics consumer loop needs, so that
// it runs against Kafka (KafkaConsumer) or a fake in tests. Not thread-safe: one thread.
class MessageConsumer {
 public:
  virtual ~MessageConsumer() = default;
  // One message, or nullopt after timeout_ms or a transient error (logged, throttled).
  virtual std::optional<ConsumedMessage> Poll(int timeout_ms) = 0;
  // Moves the read position of an assigned partition (an offset or kOffsetBeginning); buffered
  // messages from before are dropped.
  virtual Status Seek(int32_t partition, int64_t offset) = 0;
  virtual void Pause(int32_t partition) = 0;
  virtual void Resume(int32_t partition) = 0;
  // Tells Kafka how far the group got, for lag tools only (the truth lives elsewhere).
  virtual void CommitAsync(int32_t partition, int64_t next_offset) = 0;
  // The partition's high watermark as last seen by the fetcher; -1 if unknown.
  virtual int64_t HighWatermark(int32_t partition) const = 0;
  // Leaves the group (the listener hears OnRevoked first). Idempotent.
  virtual void Close() = 0;
};

// A consumer-group member on one topic: eager `roundrobin` assignment (cooperative-sticky has
// known bugs in librdkafka 2.0.x), no auto-commit, start offsets chosen by the listener.
// Not thread-safe: use it from one thread.
class KafkaConsumer final : public MessageConsumer {
 public:
  static Result<std::unique_ptr<KafkaConsumer>> Create(KafkaConsumerOptions options,
                                                       RebalanceListener* listener,
                                                       const Clock& clock);
  ~KafkaConsumer() override;

  // Creates the topic unless it exists (see CreateTopicIfMissing), so that subscribing finds it
  // at once rather than at the next metadata refresh.
  Status EnsureTopic(const std::function<bool()>& cancelled);
  // Joins the group; partitions arrive through the listener during Poll().
  Status Subscribe();

  std::optional<ConsumedMessage> Poll(int timeout_ms) override;
  Status Seek(int32_t partition, int64_t offset) override;
  void Pause(int32_t partition) override;
  void Resume(int32_t partition) override;
  void CommitAsync(int32_t partition, int64_t next_offset) override;
  int64_t HighWatermark(int32_t partition) const override;
  void Close() override;

  struct Impl;

 private:
  explicit KafkaConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rl::common
