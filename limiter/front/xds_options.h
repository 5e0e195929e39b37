#pragma once
// Where Envoy ratelimit configs come from over xDS (limiter/front/xds_config_client.h).

#include <string>

namespace rl::limiter {

struct XdsOptions {
  std::string server;             // LIMITS_XDS_SERVER: host:port (CONFIG_GRPC_XDS_SERVER_URL)
  std::string node_id = "default";  // LIMITS_XDS_NODE_ID (CONFIG_GRPC_XDS_NODE_ID)
  int retry_ms = 3000;  // LIMITS_XDS_RETRY_MS: after a stream ends or fails to start
};

}  // namespace rl::limiter
