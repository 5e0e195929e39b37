#include "common/kafka/kafka_consumer.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "common/base/callback_guard.h"
#include "common/kafka/kafka_admin.h"

namespace rl::common {

struct KafkaConsumer::Impl {
  KafkaConsumerOptions options;
  RebalanceListener* listener = nullptr;
  rd_kafka_t* rk = nullptr;
  bool closed = false;
  LogThrottle error_log;

  Impl(KafkaConsumerOptions o, RebalanceListener* l, const Clock& clock)
      : options(std::move(o)), listener(l), error_log(clock, 5000) {}

  rd_kafka_topic_partition_list_t* OnePartition(int32_t partition, int64_t offset) const {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, options.topic.c_str(), partition)->offset = offset;
    return list;
  }
};

namespace {

// librdkafka calls this from inside rd_kafka_consumer_poll/close. No exception may cross into C:
// if the listener throws on assignment (logged and counted), every partition starts later.
extern "C" void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                    rd_kafka_topic_partition_list_t* partitions,
                                    void* opaque) noexcept {
  auto* impl = static_cast<KafkaConsumer::Impl*>(opaque);
  std::vector<int32_t> ids;
  for (int i = 0; i < partitions->cnt; ++i) ids.push_back(partitions->elems[i].partition);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::map<int32_t, int64_t> starts;
    if (!GuardCallback("kafka: rebalance (assign)",
                       [&] { starts = impl->listener->OnAssigned(ids); })) {
      for (int32_t id : ids) starts[id] = kOffsetLater;
    }
    rd_kafka_topic_partition_list_t* later = rd_kafka_topic_partition_list_new(partitions->cnt);
    for (int i = 0; i < partitions->cnt; ++i) {
      auto it = starts.find(partitions->elems[i].partition);
      int64_t offset = it == starts.end() ? RD_KAFKA_OFFSET_BEGINNING : it->second;
      if (offset == kOffsetLater) {
        offset = RD_KAFKA_OFFSET_BEGINNING;  // not fetched: paused below until the listener seeks
        rd_kafka_topic_partition_list_add(later, partitions->elems[i].topic,
                                          partitions->elems[i].partition);
      }
      partitions->elems[i].offset = offset;
    }
    rd_kafka_assign(rk, partitions);
    if (later->cnt > 0) rd_kafka_pause_partitions(rk, later);
    rd_kafka_topic_partition_list_destroy(later);
  } else {
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      GuardCallback("kafka: rebalance (revoke)", [&] { impl->listener->OnRevoked(ids); });
    }
    rd_kafka_assign(rk, nullptr);
  }
}

}  // namespace

KafkaConsumer::KafkaConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(KafkaConsumerOptions options,
                                                             RebalanceListener* listener,
                                                             const Clock& clock) {
  auto impl = std::make_unique<Impl>(std::move(options), listener, clock);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", impl->options.brokers},
      {"group.id", impl->options.group},
      {"partition.assignment.strategy", "roundrobin"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", std::to_string(impl->options.session_timeout_ms)},
      {"enable.partition.eof", "false"},
      {"fetch.min.bytes", std::to_string(impl->options.fetch_min_bytes)},
      {"fetch.wait.max.ms", std::to_string(impl->options.fetch_wait_max_ms)},
      {"client.id", "rl-analytics-worker"},
  };
  for (const auto& [k, v] : impl->options.extra_config) config[k] = v;
  if (Status set = SetKafkaConfig(conf, config); !set.ok()) {
    rd_kafka_conf_destroy(conf);
    return set;
  }
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_rebalance_cb(conf, RebalanceTrampoline);
  RouteKafkaLogsToSpdlog(conf);
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(impl->rk);
  return std::unique_ptr<KafkaConsumer>(new KafkaConsumer(std::move(impl)));
}

Status KafkaConsumer::EnsureTopic(const std::function<bool()>& cancelled) {
  return CreateTopicIfMissing(
      impl_->rk,
      {impl_->options.topic, impl_->options.partitions, impl_->options.replication_factor},
      cancelled);
}

Status KafkaConsumer::Subscribe() {
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, impl_->options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(impl_->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("kafka subscribe: ") + rd_kafka_err2str(err));
  }
  return Status::Ok();
}

KafkaConsumer::~KafkaConsumer() {
  Close();
  rd_kafka_destroy(impl_->rk);
}

std::optional<ConsumedMessage> KafkaConsumer::Poll(int timeout_ms) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, timeout_ms);
  if (m == nullptr) return std::nullopt;
  std::optional<ConsumedMessage> out;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = ConsumedMessage{m->partition, m->offset,
                          std::string(static_cast<const char*>(m->payload), m->len)};
  } else {
    uint64_t suppressed = 0;
    if (impl_->error_log.ShouldLog(&suppressed)) {
      spdlog::warn("kafka: consumer: {} ({} similar errors not logged)", rd_kafka_message_errstr(m),
                   suppressed);
    }
  }
  rd_kafka_message_destroy(m);
  return out;
}

Status KafkaConsumer::Seek(int32_t partition, int64_t offset) {
  rd_kafka_topic_partition_list_t* list = impl_->OnePartition(partition, offset);
  rd_kafka_error_t* error = rd_kafka_seek_partitions(impl_->rk, list, 5000);
  Status status = Status::Ok();
  if (error != nullptr) {
    status = Status::Unavailable(rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  } else if (list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = Status::Unavailable(rd_kafka_err2str(list->elems[0].err));
  }
  rd_kafka_topic_partition_list_destroy(list);
  return status;
}

void KafkaConsumer::Pause(int32_t partition) {
  rd_kafka_topic_partition_list_t* list = impl_->OnePartition(partition, RD_KAFKA_OFFSET_INVALID);
  rd_kafka_pause_partitions(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
}

void KafkaConsumer::Resume(int32_t partition) {
  rd_kafka_topic_partition_list_t* list = impl_->OnePartition(partition, RD_KAFKA_OFFSET_INVALID);
  rd_kafka_resume_partitions(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
}

void KafkaConsumer::CommitAsync(int32_t partition, int64_t next_offset) {
  rd_kafka_topic_partition_list_t* list = impl_->OnePartition(partition, next_offset);
  rd_kafka_commit(impl_->rk, list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
}

int64_t KafkaConsumer::HighWatermark(int32_t partition) const {
  int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(impl_->rk, impl_->options.topic.c_str(), partition, &low,
                                     &high) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return -1;
  }
  return high;
}

void KafkaConsumer::Close() {
  if (impl_->closed) return;
  impl_->closed = true;
  rd_kafka_consumer_close(impl_->rk);
}

}  // namespace rl::common
