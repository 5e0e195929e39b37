// Redis Cluster routing by the specification: hash slots (with the spec's examples), MOVED/ASK
// redirections and the CLUSTER SLOTS map. tests/cluster/ checks HashSlot against a real cluster's
// CLUSTER KEYSLOT for many keys.
#include <gtest/gtest.h>

#include "common/redis/hash_slot.h"
#include "common/redis/redis_cluster.h"

namespace rl::common {
namespace {

TEST(HashSlot, Crc16IsTheSpecificationsXmodemVariant) {
  // The specification's reference output: CRC16 of "123456789" is 0x31C3.
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(HashSlot, KnownKeysLandWhereRedisPutsThem) {
  // Slots given in the Redis Cluster tutorial and specification.
  EXPECT_EQ(HashSlot("foo"), 12182);
  EXPECT_EQ(HashSlot("hello"), 866);
}

TEST(HashSlot, OnlyTheFirstNonEmptyTagIsHashed) {
  // The specification's hash tag examples.
  EXPECT_EQ(HashSlot("{user1000}.following"), HashSlot("user1000"));
  EXPECT_EQ(HashSlot("{user1000}.followers"), HashSlot("user1000"));
  EXPECT_EQ(HashSlot("foo{}{bar}"), Crc16("foo{}{bar}") % kRedisClusterSlots);  // empty tag
  EXPECT_EQ(HashSlot("foo{{bar}}zap"), HashSlot("{bar"));
  EXPECT_EQ(HashSlot("foo{bar}{zap}"), HashSlot("bar"));
  EXPECT_EQ(HashSlot("foo{bar"), Crc16("foo{bar") % kRedisClusterSlots);  // no closing brace
}

TEST(HashSlot, OneUsersKeysShareOneSlot) {
  EXPECT_EQ(HashSlot("rl:{alice}:s:login/tb"), HashSlot("rl:{alice}:b:login"));
  EXPECT_EQ(HashSlot("rl:{alice}:s:login/tb"), HashSlot("rl:{alice}:s:search/fw60000:get"));
  EXPECT_NE(HashSlot("rl:{alice}:s:login/tb"), HashSlot("rl:g:{global}:s:all/fw1000"));
}

TEST(Redirection, MovedAndAskAreParsed) {
  Redirection r;
  ASSERT_TRUE(ParseRedirection("MOVED 3999 127.0.0.1:6381", &r));
  EXPECT_FALSE(r.ask);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.port, 6381);
  ASSERT_TRUE(ParseRedirection("ASK 16383 ::1:7000", &r));
  EXPECT_TRUE(r.ask);
  EXPECT_EQ(r.slot, 16383);
  EXPECT_EQ(r.host, "::1");
  EXPECT_EQ(r.port, 7000);
  ASSERT_TRUE(ParseRedirection("MOVED 1 :7001", &r));  // unknown endpoint: the node that answered
  EXPECT_EQ(r.host, "");
}

TEST(Redirection, AnythingElseIsNotARedirection) {
  Redirection r;
  for (const char* error :
       {"ERR unknown command", "TRYAGAIN Multiple keys request during rehashing",
        "MOVED 16384 127.0.0.1:1", "MOVED -1 127.0.0.1:1", "MOVED x 127.0.0.1:1",
        "MOVED 1 127.0.0.1", "MOVED 1 127.0.0.1:0", "MOVED 1 127.0.0.1:70000", "ASK", "MOVED"}) {
    EXPECT_FALSE(ParseRedirection(error, &r)) << error;
  }
}

RedisValue Int(int64_t v) { return {.type = RedisValue::Type::kInteger, .integer = v}; }
RedisValue Str(std::string s) { return {.type = RedisValue::Type::kString, .str = std::move(s)}; }
RedisValue Arr(std::vector<RedisValue> e) {
  return {.type = RedisValue::Type::kArray, .elements = std::move(e)};
}

TEST(ClusterSlots, PrimariesOfEachRangeAreRead) {
  const RedisValue reply = Arr({
      Arr({Int(0), Int(5460), Arr({Str("127.0.0.1"), Int(7000), Str("id0")}),
           Arr({Str("127.0.0.1"), Int(7003), Str("id3")})}),
      Arr({Int(5461), Int(10922), Arr({Str(""), Int(7001), Str("id1")})}),
  });
  auto ranges = ParseClusterSlots(reply, "10.0.0.9");
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ(ranges.value()[0].first, 0);
  EXPECT_EQ(ranges.value()[0].last, 5460);
  EXPECT_EQ(ranges.value()[0].port, 7000);
  EXPECT_EQ(ranges.value()[1].host, "10.0.0.9");  // empty host: the node asked
}

TEST(ClusterSlots, MalformedRepliesAreErrors) {
  EXPECT_FALSE(ParseClusterSlots({.type = RedisValue::Type::kError,
                                  .str = "ERR This instance has "
                                         "cluster support disabled"},
                                 "h")
                   .ok());
  EXPECT_FALSE(ParseClusterSlots(Arr({Arr({Int(0)})}), "h").ok());
  EXPECT_FALSE(ParseClusterSlots(Arr({Arr({Int(10), Int(5), Arr({Str("h"), Int(1)})})}), "h").ok());
  EXPECT_FALSE(
      ParseClusterSlots(Arr({Arr({Int(0), Int(16384), Arr({Str("h"), Int(1)})})}), "h").ok());
}

}  // namespace
}  // namespace rl::common
