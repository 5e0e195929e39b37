#include "common/kafka/kafka_admin.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "common/base/callback_guard.h"

namespace rl::common {
namespace {

extern "C" void LogToSpdlog(const rd_kafka_t*, int level, const char* facility,
                            const char* buf) noexcept {
  GuardCallback("kafka: log callback", [&] {
    auto spd = level <= 3   ? spdlog::level::err
               : level <= 4 ? spdlog::level::warn
               : level <= 6 ? spdlog::level::info
                            : spdlog::level::debug;
    spdlog::log(spd, "kafka: {}: {}", facility, buf);
  });
}

}  // namespace

std::map<std::string, std::string> KafkaSecurityConfig(const EnvSource& env) {
  std::map<std::string, std::string> config;
  for (const char* prefix : {"KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_", "KAFKA_SSL_"}) {
    for (const auto& [name, value] : env.WithPrefix(prefix)) {
      std::string property = name.substr(6);  // drop "KAFKA_"
      for (char& c : property) c = c == '_' ? '.' : static_cast<char>(std::tolower(c));
      config[property] = value;
    }
  }
  // librdkafka's debug contexts ("broker,topic,msg,eos"): logged at debug level (LOG_LEVEL=debug).
  if (const std::string* debug = env.Find("KAFKA_DEBUG")) config["debug"] = *debug;
  return config;
}

Status SetKafkaConfig(rd_kafka_conf_t* conf, std::map<std::string, std::string> config) {
  // Only CreateTopics makes a topic (the limiter's, with KAFKA_PARTITIONS and
  // KAFKA_REPLICATION_FACTOR): a metadata request of any client must never have the broker create
  // it with its defaults. librdkafka's producers would by default, and the worker's group probe is
  // a producer handle.
  config["allow.auto.create.topics"] = "false";
  char err[512];
  for (const auto& [k, v] : config) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("kafka setting " + k + ": " + err);
    }
  }
  return Status::Ok();
}

void RouteKafkaLogsToSpdlog(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, LogToSpdlog); }

Status CreateTopicIfMissing(rd_kafka_t* rk, const TopicSpec& spec,
                            const std::function<bool()>& cancelled) {
  char err[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                                     spec.replication_factor, err, sizeof(err));
  if (topic == nullptr) return Status::InvalidArgument(err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* admin = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(admin, 5000, err, sizeof(err));
  rd_kafka_CreateTopics(rk, &topic, 1, admin, queue);
  // Wait up to 10 s for the answer, in slices, so that shutdown is not held up.
  rd_kafka_event_t* event = nullptr;
  for (int waited_ms = 0; event == nullptr && waited_ms < 10000; waited_ms += 200) {
    if (cancelled && cancelled()) break;
    event = rd_kafka_queue_poll(queue, 200);
  }
  Status status = Status::Unavailable("no answer from the broker");
  if (event != nullptr) {
    if (rd_kafka_event_error(event)) {
      status = Status::Unavailable(rd_kafka_event_error_string(event));
    } else if (const auto* result = rd_kafka_event_CreateTopics_result(event)) {
      size_t count = 0;
      const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &count);
      rd_kafka_resp_err_t code =
          count ? rd_kafka_topic_result_error(topics[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
      if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        status = Status::Ok();
      } else {
        status = Status::Unavailable(rd_kafka_err2str(code));
      }
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_AdminOptions_destroy(admin);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  return status;
}

}  // namespace rl::common
