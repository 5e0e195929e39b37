#include "common/kafka/kafka_group_probe.h"

#include <librdkafka/rdkafka.h>

#include "common/kafka/kafka_admin.h"

namespace rl::common {
namespace {

// Big-endian reads over a byte string; any read past the end makes ok false.
struct Reader {
  std::string_view bytes;
  size_t at = 0;
  bool ok = true;
  int64_t Int(int width) {
    if (at + width > bytes.size()) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[at++]);
    // Sign-extend the width read.
    const int shift = 64 - 8 * width;
    return static_cast<int64_t>(v << shift) >> shift;
  }
  std::string_view String() {
    const int64_t n = Int(2);
    if (!ok || n < 0 || at + static_cast<size_t>(n) > bytes.size()) {
      ok = false;
      return {};
    }
    std::string_view s = bytes.substr(at, static_cast<size_t>(n));
    at += static_cast<size_t>(n);
    return s;
  }
};

}  // namespace

std::vector<int32_t> AssignedPartitions(std::string_view assignment, const std::string& topic) {
  Reader r{assignment};
  r.Int(2);  // version
  const int64_t topics = r.Int(4);
  std::vector<int32_t> out;
  for (int64_t t = 0; r.ok && t < topics && t < 100000; ++t) {
    const std::string_view name = r.String();
    const int64_t partitions = r.Int(4);
    for (int64_t p = 0; r.ok && p < partitions && p < 1000000; ++p) {
      const auto partition = static_cast<int32_t>(r.Int(4));
      if (r.ok && name == topic) out.push_back(partition);
    }
  }
  if (!r.ok) return {};
  return out;
}

struct KafkaGroupProbe::Impl {
  KafkaGroupProbeOptions options;
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  ~Impl() {
    if (topic) rd_kafka_topic_destroy(topic);
    if (rk) rd_kafka_destroy(rk);
  }
};

KafkaGroupProbe::KafkaGroupProbe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaGroupProbe::~KafkaGroupProbe() = default;

Result<std::unique_ptr<KafkaGroupProbe>> KafkaGroupProbe::Create(KafkaGroupProbeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", impl->options.brokers},
      {"client.id", "rl-analytics-group-probe"},
  };
  for (const auto& [k, v] : impl->options.extra_config) config[k] = v;
  if (Status set = SetKafkaConfig(conf, config); !set.ok()) {
    rd_kafka_conf_destroy(conf);
    return set;
  }
  RouteKafkaLogsToSpdlog(conf);
  // A producer handle that never produces: the cheapest client that may ask for metadata,
  // offsets and groups.
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka group probe: ") + err);
  }
  impl->topic = rd_kafka_topic_new(impl->rk, impl->options.topic.c_str(), nullptr);
  return std::unique_ptr<KafkaGroupProbe>(new KafkaGroupProbe(std::move(impl)));
}

Result<KafkaGroupView> KafkaGroupProbe::Probe() {
  const int timeout = impl_->options.timeout_ms;
  KafkaGroupView view;
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->rk, 0, impl_->topic, &metadata, timeout);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("kafka metadata: ") + rd_kafka_err2str(err));
  }
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    view.partitions = metadata->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  for (int32_t p = 0; p < view.partitions; ++p) {
    int64_t low = -1, high = -1;
    err = rd_kafka_query_watermark_offsets(impl_->rk, impl_->options.topic.c_str(), p, &low, &high,
                                           timeout);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka offsets of partition " + std::to_string(p) + ": " +
                                 rd_kafka_err2str(err));
    }
    view.log_start[p] = low;
    view.log_end[p] = high;
  }
  const rd_kafka_group_list* groups = nullptr;
  err = rd_kafka_list_groups(impl_->rk, impl_->options.group.c_str(), &groups, timeout);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("kafka group ") + impl_->options.group + ": " +
                               rd_kafka_err2str(err));
  }
  for (int g = 0; g < groups->group_cnt; ++g) {
    const rd_kafka_group_info& info = groups->groups[g];
    if (impl_->options.group != info.group) continue;
    view.state = info.state ? info.state : "";
    view.members = info.member_cnt;
    for (int m = 0; m < info.member_cnt; ++m) {
      const rd_kafka_group_member_info& member = info.members[m];
      const std::string_view assignment(static_cast<const char*>(member.member_assignment),
                                        static_cast<size_t>(member.member_assignment_size));
      for (int32_t p : AssignedPartitions(assignment, impl_->options.topic)) view.owned.insert(p);
    }
  }
  rd_kafka_group_list_destroy(groups);
  return view;
}

}  // namespace rl::common
