#pragma once

#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/kafka/kafka_producer.h"
#include "limiter/event_publisher.h"

namespace rl::limiter {

// EventPublisher over the Kafka producer: key = user_id, value = serialized Decision.
class KafkaEventPublisher final : public EventPublisher {
 public:
  KafkaEventPublisher(common::KafkaProducer& producer, common::MetricsRegistry& metrics,
                      const common::Clock& clock);
  void Publish(const events::v1::Decision& decision) override;

 private:
  common::KafkaProducer& producer_;
  common::Counter& enqueued_;
  common::Counter& dropped_queue_full_;
  common::Counter& dropped_error_;
  common::LogThrottle drop_log_;
};

}  // namespace rl::limiter
