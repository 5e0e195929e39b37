#include "common/analytics/analytics_redis.h"

namespace rl::analytics {

common::Result<common::RedisEndpoint> AnalyticsRedisEndpoint(const common::EnvSource& env) {
  const char* name = env.Find("ANALYTICS_REDIS_URL") ? "ANALYTICS_REDIS_URL" : "REDIS_URL";
  const std::string* url = env.Find(name);
  auto parsed = common::ParseRedisUrl(url ? *url : "redis://127.0.0.1:6379");
  if (!parsed.ok()) {
    return common::Status::InvalidArgument(std::string(name) + ": " + parsed.status().message());
  }
  return parsed;
}

}  // namespace rl::analytics
