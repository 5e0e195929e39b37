#pragma once

#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/events/event_publisher.h"
#include "common/kafka/kafka_producer.h"

namespace rl::common {

// EventPublisher over the Kafka producer: key = user_id, value = serialized Decision.
class KafkaEventPublisher final : public EventPublisher {
 public:
  KafkaEventPublisher(KafkaProducer& producer, MetricsRegistry& metrics, const Clock& clock);
  void Publish(const events::v1::Decision& decision) override;

 private:
  KafkaProducer& producer_;
  Counter& enqueued_;
  Counter& dropped_queue_full_;
  Counter& dropped_error_;
  LogThrottle drop_log_;
};

}  // namespace rl::common
