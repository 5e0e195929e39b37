#pragma once
// The consumer group as the broker sees it, whoever its members are: what a worker's health
// needs to report the group's lag, not only its own partitions'.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace rl::common {

struct KafkaGroupView {
  int partitions = 0;                    // the topic's partition count
  std::map<int32_t, int64_t> log_start;  // per partition: the oldest offset kept
  std::map<int32_t, int64_t> log_end;    // per partition: the next offset to be written
  std::string state;                     // the group's: Stable, PreparingRebalance, Empty, ...
  int members = 0;                       // members the coordinator knows (dead ones included
                                         // until their session times out)
  std::set<int32_t> owned;               // the topic's partitions some member is assigned
};

// The partitions of `topic` in a consumer-protocol MemberAssignment (Kafka's wire format:
// version, [topic, [partition]], user data); empty if it cannot be read. Pure.
std::vector<int32_t> AssignedPartitions(std::string_view assignment, const std::string& topic);

// What the brokers say of a topic and its consumer group (KafkaGroupProbe; a fake in tests).
class GroupProbe {
 public:
  virtual ~GroupProbe() = default;
  // Unavailable when a broker does not answer.
  virtual Result<KafkaGroupView> Probe() = 0;
};

struct KafkaGroupProbeOptions {
  std::string brokers;
  std::string topic;
  std::string group;
  std::map<std::string, std::string> extra_config;  // security settings, as the consumer's
  int timeout_ms = 2000;                            // per broker request
};

// Asks the brokers about one topic and one group: partition count, each partition's log start
// and end, the group's state and which partitions its members own. A client of its own (never the
// consumer's). Thread-safe; each Probe() blocks up to a few timeouts.
class KafkaGroupProbe final : public GroupProbe {
 public:
  static Result<std::unique_ptr<KafkaGroupProbe>> Create(KafkaGroupProbeOptions options);
  ~KafkaGroupProbe() override;
  KafkaGroupProbe(const KafkaGroupProbe&) = delete;
  KafkaGroupProbe& operator=(const KafkaGroupProbe&) = delete;

  Result<KafkaGroupView> Probe() override;

 private:
  struct Impl;
  explicit KafkaGroupProbe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rl::common
