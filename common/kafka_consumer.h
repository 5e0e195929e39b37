#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clock.h"
#include "logging.h"
#include "status.h"

namespace rl::common {

struct KafkaConsumerOptions {
  std::string brokers = "127.0.0.1:9092";  // KAFKA_BROKERS
  std::string topic = "rl.decisions.v1";   // KAFKA_TOPIC
  std::string group = "rl-analytics";      // KAFKA_GROUP
  int session_timeout_ms = 10000;          // KAFKA_SESSION_TIMEOUT_MS
  int partitions = 12;                     // KAFKA_PARTITIONS, if the topic must be created
  int replication_factor = 1;              // KAFKA_REPLICATION_FACTOR
  std::map<std::string, std::string> extra_config;  // passed to librdkafka as is
};

struct ConsumedMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string payload;
};

// Told about partition ownership changes. Called from inside KafkaConsumer::Poll/Close, on the
// polling thread.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // The partitions just assigned; returns where to start reading each one (an offset, or
  // KafkaConsumer::kOffsetBeginning). Partitions missing from the map start at the beginning.
  virtual std::map<int32_t, int64_t> OnAssigned(const std::vector<int32_t>& partitions) = 0;
  // The partitions about to be taken away; finish with them before returning.
  virtual void OnRevoked(const std::vector<int32_t>& partitions) = 0;
};

// A consumer-group member on one topic: eager `roundrobin` assignment (cooperative-sticky has
// known bugs in librdkafka 2.0.x), no auto-commit, start offsets chosen by the listener.
// Not thread-safe: use it from one thread.
class KafkaConsumer {
 public:
  static constexpr int64_t kOffsetBeginning = -2;

  static Result<std::unique_ptr<KafkaConsumer>> Create(KafkaConsumerOptions options,
                                                       RebalanceListener* listener,
                                                       const Clock& clock);
  ~KafkaConsumer();

  // Creates the topic unless it exists (see CreateTopicIfMissing), so that subscribing finds it
  // at once rather than at the next metadata refresh.
  Status EnsureTopic(const std::function<bool()>& cancelled);
  // Joins the group; partitions arrive through the listener during Poll().
  Status Subscribe();

  // One message, or nullopt after timeout_ms or a transient error (logged, throttled).
  std::optional<ConsumedMessage> Poll(int timeout_ms);

  // Moves the read position of an assigned partition; buffered messages from before are dropped.
  Status Seek(int32_t partition, int64_t offset);
  void Pause(int32_t partition);
  void Resume(int32_t partition);
  // Tells Kafka how far the group got, for lag tools only (the truth lives elsewhere).
  void CommitAsync(int32_t partition, int64_t next_offset);
  // The partition's high watermark as last seen by the fetcher; -1 if unknown.
  int64_t HighWatermark(int32_t partition) const;

  // Leaves the group (the listener hears OnRevoked first). Idempotent.
  void Close();

  struct Impl;

 private:
  explicit KafkaConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rl::common
