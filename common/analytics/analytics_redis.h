#pragma once

#include "common/base/settings.h"
#include "common/base/status.h"
#include "common/redis/redis_client.h"

namespace rl::analytics {

// The Redis of the analytics (counters, consumer positions, the limiter ledger):
// ANALYTICS_REDIS_URL, else REDIS_URL, else redis://127.0.0.1:6379. An error names the variable.
common::Result<common::RedisEndpoint> AnalyticsRedisEndpoint(const common::EnvSource& env);

}  // namespace rl::analytics
