#include "common/kafka/kafka_tail.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "common/kafka/kafka_admin.h"

namespace rl::common {

namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

}  // namespace

Status TailTopic(const KafkaTailOptions& options, std::chrono::milliseconds duration,
                 const std::function<bool(std::string_view payload)>& on_message) {
  const std::string& brokers = options.brokers;
  const std::string& topic = options.topic;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", brokers},
      {"group.id", "rlctl-tail"},  // never joined: assign()
      {"enable.auto.commit", "false"},
      {"log_level", "0"},
  };
  for (const auto& [k, v] : options.extra_config) config[k] = v;
  if (Status set = SetKafkaConfig(conf, config); !set.ok()) {
    rd_kafka_conf_destroy(conf);
    return set;
  }
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (raw == nullptr) return Status::InvalidArgument(std::string("kafka: ") + err);
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
    return Status::Unavailable("kafka " + brokers + ": " + rd_kafka_err2str(e));
  }
  int partitions = 0;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    partitions = metadata->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  if (partitions == 0) return Status::Unavailable("kafka: no topic " + topic);

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
      go_on = on_message(std::string_view(static_cast<const char*>(m->payload), m->len));
    }
    rd_kafka_message_destroy(m);
    if (!go_on) break;
  }
  return Status::Ok();
}

}  // namespace rl::common
