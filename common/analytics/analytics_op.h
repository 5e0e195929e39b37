#pragma once

#include <cstdint>
#include <string>

namespace rl::analytics {

// One write of a batch. The apply script runs them in order, atomically with the offset check.
struct AnalyticsOp {
  enum class Kind : char {
    kHashIncrBy = 'H',       // HINCRBY key field amount
    kSortedSetIncrBy = 'Z',  // ZINCRBY key amount field
    kExpireAt = 'X',         // EXPIREAT key amount (Unix seconds); field unused
    kSetAdd = 'S',           // SADD key field; amount unused
    kHashMax = 'M',          // HSET key field amount if amount is above the stored value
  };
  Kind kind;
  std::string key;
  std::string field;
  int64_t amount = 0;

  bool operator==(const AnalyticsOp&) const = default;
};

}  // namespace rl::analytics
