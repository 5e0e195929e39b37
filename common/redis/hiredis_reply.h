#pragma once
// The one conversion of a hiredis reply into a RedisValue, for the synchronous pool and the
// asynchronous connection alike. Internal to common/redis.

#include "common/redis/redis_client.h"

struct redisReply;

namespace rl::common {

RedisValue FromHiredisReply(const redisReply* reply);

}  // namespace rl::common
