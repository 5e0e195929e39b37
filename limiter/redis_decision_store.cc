#include "redis_decision_store.h"

#include <cstdio>

#include "token_bucket_lua.h"

namespace rl::limiter {

using common::RedisValue;
using common::Result;
using common::Status;

Result<BucketAnswer> ParseTokenBucketReply(const RedisValue& reply) {
  if (reply.is_error()) return Status::Internal("redis script error: " + reply.str);
  if (reply.type != RedisValue::Type::kArray || reply.elements.size() < 5) {
    return Status::Internal("unexpected reply from token_bucket.lua");
  }
  for (size_t i = 0; i < 5; ++i) {
    if (reply.elements[i].type != RedisValue::Type::kInteger) {
      return Status::Internal("unexpected reply from token_bucket.lua");
    }
  }
  BucketAnswer answer;
  answer.allowed = reply.elements[0].integer == 1;
  answer.remaining = reply.elements[1].integer;
  answer.reset_ms = reply.elements[2].integer;
  answer.retry_after_ms = reply.elements[3].integer;
  answer.now_ms = reply.elements[4].integer;
  return answer;
}

RedisDecisionStore::RedisDecisionStore(common::RedisPool& redis, const common::Clock& clock)
    : redis_(redis), clock_(clock), script_(kTokenBucketLua) {}

Result<BucketAnswer> RedisDecisionStore::Consume(const BucketRequest& request) {
  char rate[64];
  std::snprintf(rate, sizeof(rate), "%.17g", request.params.refill_per_sec);
  auto reply = redis_.Eval(script_, {request.key},
                           {std::to_string(request.params.capacity), rate,
                            std::to_string(request.cost), std::to_string(kTtlMarginMs)});
  if (!reply.ok()) return reply.status();
  return ParseTokenBucketReply(reply.value());
}

Status RedisDecisionStore::Ping(int64_t* latency_us) { return redis_.Ping(clock_, latency_us); }

}  // namespace rl::limiter
