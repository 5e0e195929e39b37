#pragma once
// Envoy ratelimit configs from an xDS server (CONFIG_TYPE=GRPC_XDS_SOTW, as envoyproxy/ratelimit
// reads them from Envoy Gateway): the state-of-the-world aggregated discovery stream
// (envoy.service.discovery.v3.AggregatedDiscoveryService), resources of type
// ratelimit.config.ratelimit.v3.RateLimitConfig, one domain each. Every response holds the whole
// set: it is parsed as one directory of the reference's files would be (one file per config) and,
// if valid, becomes the policy (ACK); else the policy in force stays and the response is NACKed
// with the errors. Used instead of LIMITS_FILE.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "limiter/core/policy_holder.h"
#include "limiter/front/xds_options.h"
#include "ratelimit/config/ratelimit/v3/rls_conf.pb.h"

namespace grpc {
class ClientContext;
}

namespace rl::limiter {

inline constexpr char kRateLimitConfigTypeUrl[] =
    "type.googleapis.com/ratelimit.config.ratelimit.v3.RateLimitConfig";

// One config in the reference's file format (ConfigXdsProtoToYaml), as JSON (which YAML reads).
// Pure.
std::string RateLimitConfigYaml(const ratelimit::config::ratelimit::v3::RateLimitConfig& config);


class XdsConfigClient {
 public:
  XdsConfigClient(XdsOptions options, PolicyHolder& holder, const common::Clock& clock,
                  common::MetricsRegistry& metrics);
  // Stops the stream and its thread.
  ~XdsConfigClient();
  XdsConfigClient(const XdsConfigClient&) = delete;
  XdsConfigClient& operator=(const XdsConfigClient&) = delete;

  // Starts the stream on a thread of its own.
  void Start();
  // Whether a config from the server is in force (the first response was valid).
  bool HasConfig() const { return has_config_; }

 private:
  void Run();
  // One stream, until it ends: its responses applied and answered.
  void Stream();
  // The policy of a response's configs, or why it is invalid.
  common::Result<std::shared_ptr<const ActivePolicy>> PolicyOf(
      const std::vector<ratelimit::config::ratelimit::v3::RateLimitConfig>& configs) const;

  const XdsOptions options_;
  PolicyHolder& holder_;
  const common::Clock& clock_;
  common::Counter& applied_;
  common::Counter& rejected_;
  common::Gauge& connected_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> has_config_{false};
  std::mutex mu_;                          // guards context_
  grpc::ClientContext* context_ = nullptr;  // the stream's, while one is open
  std::thread thread_;
};

}  // namespace rl::limiter
