#include "common/kafka/kafka_producer.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "common/base/callback_guard.h"
#include "common/kafka/kafka_admin.h"

namespace rl::common {

struct KafkaProducer::Handle {
  rd_kafka_t* rk = nullptr;
  ~Handle() {
    if (rk == nullptr) return;
    // Whatever is still queued fails with ERR__PURGE_QUEUE and is counted as a failed delivery.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
    rd_kafka_destroy(rk);
  }
};

void OnDelivery(void* /*rk*/, const void* message, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  const auto* m = static_cast<const rd_kafka_message_t*>(message);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->metrics_.delivered->Inc();
    return;
  }
  self->metrics_.delivery_failed->Inc();
  uint64_t suppressed = 0;
  if (self->delivery_log_.ShouldLog(&suppressed)) {
    spdlog::warn("kafka: event delivery failed: {} ({} similar failures not logged)",
                 rd_kafka_err2str(m->err), suppressed);
  }
}

void OnError(void* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512];
    rd_kafka_fatal_error(static_cast<rd_kafka_t*>(rk), detail, sizeof(detail));
    spdlog::error("kafka: fatal producer error, recreating the producer: {}", detail);
    self->fatal_ = true;
    return;
  }
  uint64_t suppressed = 0;
  if (self->error_log_.ShouldLog(&suppressed)) {
    spdlog::warn("kafka: {} ({} similar errors not logged)", reason, suppressed);
  }
}

namespace {

// librdkafka calls these from its own frames: nothing may unwind into C.
extern "C" void DeliveryTrampoline(rd_kafka_t* rk, const rd_kafka_message_t* m,
                                   void* opaque) noexcept {
  GuardCallback("kafka: delivery report", [&] { OnDelivery(rk, m, opaque); });
}
extern "C" void ErrorTrampoline(rd_kafka_t* rk, int err, const char* reason,
                                void* opaque) noexcept {
  GuardCallback("kafka: error callback", [&] { OnError(rk, err, reason, opaque); });
}

}  // namespace

KafkaProducer::KafkaProducer(KafkaProducerOptions options, KafkaProducerMetrics metrics,
                             const Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      clock_(clock),
      delivery_log_(clock),
      error_log_(clock, 5000) {}

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(KafkaProducerOptions options,
                                                             KafkaProducerMetrics metrics,
                                                             const Clock& clock) {
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer(std::move(options), metrics, clock));
  auto handle = producer->NewHandle();
  if (!handle.ok()) return handle.status();
  producer->handle_ = std::move(handle.value());
  producer->poll_thread_ = std::thread([p = producer.get()] { p->PollLoop(); });
  producer->topic_thread_ = std::thread([p = producer.get()] { p->EnsureTopicLoop(); });
  return producer;
}

KafkaProducer::~KafkaProducer() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
  if (topic_thread_.joinable()) topic_thread_.join();
  std::lock_guard lock(handle_mu_);
  handle_.reset();
}

Result<std::shared_ptr<KafkaProducer::Handle>> KafkaProducer::NewHandle() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", options_.brokers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.type", "lz4"},
      {"linger.ms", std::to_string(options_.linger_ms)},
      {"queue.buffering.max.messages", std::to_string(options_.queue_max_messages)},
      {"message.timeout.ms", std::to_string(options_.message_timeout_ms)},
      {"client.id", "rl-limiter"},  // SetKafkaConfig forbids topic auto-creation
  };
  for (const auto& [k, v] : options_.extra_config) config[k] = v;
  if (Status set = SetKafkaConfig(conf, config); !set.ok()) {
    rd_kafka_conf_destroy(conf);
    return set;
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, DeliveryTrampoline);
  rd_kafka_conf_set_error_cb(conf, ErrorTrampoline);
  RouteKafkaLogsToSpdlog(conf);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka producer: ") + err);
  }
  auto handle = std::make_shared<Handle>();
  handle->rk = rk;
  return handle;
}

std::shared_ptr<KafkaProducer::Handle> KafkaProducer::CurrentHandle() const {
  std::lock_guard lock(handle_mu_);
  return handle_;
}

KafkaProducer::Enqueued KafkaProducer::Produce(std::string_view key, std::string_view value) {
  auto handle = CurrentHandle();
  rd_kafka_resp_err_t err =
      rd_kafka_producev(handle->rk, RD_KAFKA_V_TOPIC(options_.topic.c_str()),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Enqueued::kQueued;
  return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? Enqueued::kQueueFull : Enqueued::kFailed;
}

int64_t KafkaProducer::Flush(int timeout_ms) {
  auto handle = CurrentHandle();
  rd_kafka_flush(handle->rk, timeout_ms);
  return rd_kafka_outq_len(handle->rk);
}

void KafkaProducer::InjectFatalErrorForTest() {
  rd_kafka_test_fatal_error(CurrentHandle()->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                            "injected by a test");
}

int64_t KafkaProducer::QueueLength() const { return rd_kafka_outq_len(CurrentHandle()->rk); }

Status KafkaProducer::ProbeBroker(int timeout_ms, int64_t* latency_us) const {
  auto handle = CurrentHandle();
  int64_t start = clock_.MonotonicUs();
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(handle->rk, 0, nullptr, &metadata, timeout_ms);
  *latency_us = clock_.MonotonicUs() - start;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Unavailable(rd_kafka_err2str(err));
  rd_kafka_metadata_destroy(metadata);
  return Status::Ok();
}

void KafkaProducer::PollLoop() {
  while (true) {
    {
      std::lock_guard lock(stop_mu_);
      if (stopping_) return;
    }
    if (fatal_.exchange(false)) {
      auto fresh = NewHandle();
      if (fresh.ok()) {
        std::shared_ptr<Handle> old;
        {
          std::lock_guard lock(handle_mu_);
          old = std::exchange(handle_, std::move(fresh.value()));
        }
        metrics_.restarts->Inc();
        // `old` is destroyed here once no Produce() call still holds it.
      } else {
        spdlog::error("kafka: cannot recreate producer: {}", fresh.status().message());
        fatal_ = true;
      }
    }
    rd_kafka_poll(CurrentHandle()->rk, 100);
  }
}

void KafkaProducer::EnsureTopicLoop() {
  while (true) {
    Status status = CreateTopicIfMissing(
        CurrentHandle()->rk, {options_.topic, options_.partitions, options_.replication_factor},
        [this] {
          std::lock_guard lock(stop_mu_);
          return stopping_;
        });
    if (status.ok()) {
      topic_ready_ = true;
      spdlog::info("kafka: topic {} is ready", options_.topic);
      return;
    }
    spdlog::warn("kafka: cannot create topic {} yet ({}); retrying", options_.topic,
                 status.message());
    std::unique_lock lock(stop_mu_);
    if (stop_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stopping_; })) return;
  }
}

void LoadKafkaProducerOptions(SettingsLoader& load, const EnvSource& env, KafkaProducerOptions* o) {
  load.String("KAFKA_BROKERS", &o->brokers, true);
  load.String("KAFKA_TOPIC", &o->topic, true);
  load.Int("KAFKA_PARTITIONS", &o->partitions, 1, 10000);
  load.Int("KAFKA_REPLICATION_FACTOR", &o->replication_factor, 1, 100);
  load.Int("KAFKA_QUEUE_MAX_MESSAGES", &o->queue_max_messages, 1, 10'000'000);
  load.Int("KAFKA_LINGER_MS", &o->linger_ms, 0, 10000);
  load.Int("KAFKA_MESSAGE_TIMEOUT_MS", &o->message_timeout_ms, 1000, 3'600'000);
  o->extra_config = KafkaSecurityConfig(env);
}

KafkaProducerMetrics RegisterKafkaProducerMetrics(MetricsRegistry& metrics) {
  return {.delivered = &metrics.AddCounter("rl_events_delivered_total",
                                           "Decision events acknowledged by Kafka"),
          .delivery_failed = &metrics.AddCounter("rl_events_delivery_failed_total",
                                                 "Decision events Kafka never acknowledged"),
          .restarts = &metrics.AddCounter("rl_kafka_producer_restarts_total",
                                          "Producer recreated after a fatal error")};
}

}  // namespace rl::common
