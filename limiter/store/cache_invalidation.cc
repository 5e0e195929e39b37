#include "limiter/store/cache_invalidation.h"

#include <spdlog/spdlog.h>

namespace rl::limiter {

RedisCacheInvalidation::RedisCacheInvalidation(common::RedisClient& redis,
                                               std::vector<common::RedisEndpoint> endpoints,
                                               BlockedCache& cache,
                                               common::MetricsRegistry& metrics,
                                               std::string limiter_id) {
  cache.SetShared(false);  // until subscribed
  common::Counter& unannounced = metrics.AddCounter(
      "rl_blocked_cache_resets_unannounced_total",
      "Admin resets other limiters were not told of (their caches hold until the retry time)");
  cache.OnReset([&redis, &unannounced, id = std::move(limiter_id)] {
    auto published = redis.Command({"PUBLISH", kCacheInvalidationChannel, id});
    if (!published.ok()) {
      unannounced.Inc();
      spdlog::warn(
          "blocked cache: could not tell the other limiters of a reset ({}); theirs may answer "
          "blocked until the retry time",
          published.status().message());
    }
  });
  subscriber_ = std::make_unique<common::RedisSubscriber>(
      common::RedisSubscriberOptions{.endpoints = std::move(endpoints),
                                     .channel = kCacheInvalidationChannel},
      [&cache](const std::string&) { cache.Forget(); },
      [&cache](bool subscribed) {
        if (!subscribed) {
          spdlog::warn("blocked cache: bypassed until the reset feed is back");
        }
        cache.SetShared(subscribed);
      });
}

}  // namespace rl::limiter
