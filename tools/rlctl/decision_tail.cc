#include "tools/rlctl/decision_tail.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "proto-events/event_codec.h"

namespace rl::rlctl {

namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

}  // namespace

common::Status TailDecisions(const std::string& brokers, const std::string& topic,
                             std::chrono::milliseconds duration,
                             const std::function<bool(const events::v1::Decision&)>& on_event) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "rlctl-tail", err, sizeof(err));  // never joined: assign()
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (raw == nullptr) return common::Status::InvalidArgument(std::string("kafka: ") + err);
  std::unique_ptr<rd_kafka_t, KafkaDeleter> rk(raw);
  rd_kafka_poll_set_consumer(rk.get());

  // The topic's partitions, from the brokers' metadata.
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  // Never longer than the tail was asked to last (a broker that is down: --seconds 3 is 3 s).
  const int metadata_ms =
      duration.count() > 0 ? static_cast<int>(std::min<int64_t>(5000, duration.count())) : 5000;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 0, t, &metadata, metadata_ms);
  rd_kafka_topic_destroy(t);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return common::Status::Unavailable("kafka " + brokers + ": " + rd_kafka_err2str(e));
  }
  int partitions = 0;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    partitions = metadata->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  if (partitions == 0) return common::Status::Unavailable("kafka: no topic " + topic);

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  }
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);

  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (duration.count() == 0 || std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m == nullptr) continue;
    bool go_on = true;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      auto d =
          events::DecodeDecision(std::string_view(static_cast<const char*>(m->payload), m->len));
      if (d) go_on = on_event(*d);
    }
    rd_kafka_message_destroy(m);
    if (!go_on) break;
  }
  return common::Status::Ok();
}

}  // namespace rl::rlctl
