#include "common/events/kafka_event_publisher.h"

#include <spdlog/spdlog.h>

#include "proto-events/event_codec.h"

namespace rl::common {

KafkaEventPublisher::KafkaEventPublisher(KafkaProducer& producer, MetricsRegistry& metrics,
                                         const Clock& clock)
    : producer_(producer),
      enqueued_(metrics.AddCounter("rl_events_enqueued_total",
                                   "Decision events handed to the Kafka producer queue")),
      dropped_queue_full_(metrics.AddCounter("rl_events_dropped_total",
                                             "Decision events dropped before reaching Kafka",
                                             {{"reason", "queue_full"}})),
      dropped_error_(metrics.AddCounter("rl_events_dropped_total",
                                        "Decision events dropped before reaching Kafka",
                                        {{"reason", "producer_error"}})),
      drop_log_(clock) {}

void KafkaEventPublisher::Publish(const events::v1::Decision& decision) {
  const std::string value = events::EncodeDecision(decision);
  auto result = producer_.Produce(decision.user_id(), value);
  if (result == KafkaProducer::Enqueued::kQueued) {
    enqueued_.Inc();
    return;
  }
  bool full = result == KafkaProducer::Enqueued::kQueueFull;
  (full ? dropped_queue_full_ : dropped_error_).Inc();
  uint64_t suppressed = 0;
  if (drop_log_.ShouldLog(&suppressed)) {
    spdlog::warn("events: dropped event {} ({}); {} more drops since the last warning",
                 decision.event_id(), full ? "producer queue full" : "producer error", suppressed);
  }
}

}  // namespace rl::common
