#include <gtest/gtest.h>

#include "common/redis/redis_client.h"

namespace rl::common {
namespace {

TEST(ParseRedisUrl, ReadsHostPortCredentialsAndDatabase) {
  auto e = ParseRedisUrl("redis://app:s3cret@cache.internal:6380/2");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->username, "app");
  EXPECT_EQ(e->password, "s3cret");
  EXPECT_EQ(e->db, 2);
  EXPECT_EQ(e->Describe(), "cache.internal:6380/2");  // no secrets
}

TEST(ParseRedisUrl, DefaultsPortAndDatabase) {
  auto e = ParseRedisUrl("redis://:pw@localhost");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
  EXPECT_EQ(e->username, "");
  EXPECT_EQ(e->password, "pw");
}

TEST(ParseRedisUrl, RejectsWhatItCannotUse) {
  for (const char* bad : {"http://x:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                          "redis://h/abc", "redis://h:1/-1"}) {
    EXPECT_FALSE(ParseRedisUrl(bad).ok()) << bad;
  }
}

TEST(LuaScript, KnowsItsSha1) {
  EXPECT_EQ(LuaScript("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

}  // namespace
}  // namespace rl::common
