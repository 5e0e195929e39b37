// REDIS_MODE and REDIS_URL: one server, or a Redis Cluster's seed nodes.
#include "limiter/limiter_settings.h"

#include <gtest/gtest.h>

namespace rl::limiter {
namespace {

common::Result<LimiterSettings> Load(const std::map<std::string, std::string>& vars) {
  return LoadLimiterSettings(common::EnvSource(vars));
}

TEST(LimiterSettings, StandaloneIsTheDefault) {
  auto s = Load({{"REDIS_URL", "redis://127.0.0.1:6390"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->redis_mode, "standalone");
  EXPECT_EQ(s->redis.port, 6390);
  EXPECT_TRUE(s->redis_seeds.empty());
}

TEST(LimiterSettings, ClusterModeReadsEverySeedAndNeedsAnAnalyticsRedis) {
  auto s = Load({{"REDIS_MODE", "cluster"},
                 {"REDIS_URL", "redis://127.0.0.1:7000,redis://:pw@127.0.0.1:7001"},
                 {"ANALYTICS_REDIS_URL", "redis://127.0.0.1:6379"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->redis_seeds.size(), 2u);
  EXPECT_EQ(s->redis_seeds[0].port, 7000);
  EXPECT_EQ(s->redis_seeds[1].port, 7001);
  EXPECT_EQ(s->redis_seeds[1].password, "pw");

  auto missing = Load({{"REDIS_MODE", "cluster"}, {"REDIS_URL", "redis://127.0.0.1:7000"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("ANALYTICS_REDIS_URL"), std::string::npos);
}

TEST(LimiterSettings, ABadSeedOrModeIsNamedAndQuoted) {
  auto bad = Load({{"REDIS_MODE", "cluster"},
                   {"REDIS_URL", "redis://127.0.0.1:7000,http://x:1"},
                   {"ANALYTICS_REDIS_URL", "redis://127.0.0.1:6379"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("REDIS_URL: seed \"http://x:1\""), std::string::npos)
      << bad.status().message();
  auto db = Load({{"REDIS_MODE", "cluster"},
                  {"REDIS_URL", "redis://127.0.0.1:7000/2"},
                  {"ANALYTICS_REDIS_URL", "redis://127.0.0.1:6379"}});
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("database 0"), std::string::npos);
  auto mode = Load({{"REDIS_MODE", "sentinel"}});
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.status().message().find("REDIS_MODE"), std::string::npos);
}

}  // namespace
}  // namespace rl::limiter
