#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/redis/redis_client.h"
#include "common/redis/redis_subscriber.h"
#include "limiter/core/blocked_cache.h"

namespace rl::limiter {

// The Redis pub/sub channel on which every limiter announces its admin resets and listens for
// the others'.
inline constexpr char kCacheInvalidationChannel[] = "rl:blocked-cache:reset";

// Keeps the blocked caches of every limiter on one Redis (or Redis Cluster) in step: a reset on
// one limiter (BlockedCache::Reset) publishes on kCacheInvalidationChannel once Redis has
// deleted, and every limiter forgets its cache when the message arrives (within a millisecond on
// one machine). Until this limiter is subscribed, and whenever the subscription is lost, its cache
// is bypassed, so a missed message can never keep a reset user blocked. In a cluster PUBLISH
// reaches every node, so any node will do.
class RedisCacheInvalidation {
 public:
  RedisCacheInvalidation(common::RedisClient& redis, std::vector<common::RedisEndpoint> endpoints,
                         BlockedCache& cache, common::MetricsRegistry& metrics,
                         std::string limiter_id);

 private:
  std::unique_ptr<common::RedisSubscriber> subscriber_;
};

}  // namespace rl::limiter
