#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decision.pb.h"

namespace rl::analytics {

// One write of a batch. The apply script runs them in order, atomically with the offset check.
struct AnalyticsOp {
  enum class Kind : char {
    kHashIncrBy = 'H',       // HINCRBY key field amount
    kSortedSetIncrBy = 'Z',  // ZINCRBY key amount field
    kExpireAt = 'X',         // EXPIREAT key amount (Unix seconds); field unused
  };
  Kind kind;
  std::string key;
  std::string field;
  int64_t amount = 0;

  bool operator==(const AnalyticsOp&) const = default;
};

// Folds a batch of decisions into the increments it causes (see analytics_keys.h), merged so
// that each (key, field) appears once; deterministic order. Pure.
// `retention_minutes`: a per-minute bucket expires this long after its minute ends.
std::vector<AnalyticsOp> AggregateDecisions(const std::vector<events::v1::Decision>& decisions,
                                            int64_t retention_minutes);

}  // namespace rl::analytics
