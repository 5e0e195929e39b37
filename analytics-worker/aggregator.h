#pragma once

#include <cstdint>
#include <optional>
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
    kSetAdd = 'S',           // SADD key field; amount unused
    kHashMax = 'M',          // HSET key field amount if amount is above the stored value
  };
  Kind kind;
  std::string key;
  std::string field;
  int64_t amount = 0;

  bool operator==(const AnalyticsOp&) const = default;
};

// Folds a batch of decisions into the increments it causes (see analytics_keys.h), merged so
// that each (key, field) appears once; deterministic order. Pure. Per limiter instance it also
// counts the events seen and the highest event sequence, so that events a limiter lost (a
// SIGKILL with events still in its producer buffer) show as max_sequence - seen.
// `retention_minutes`: a per-minute bucket expires this long after its minute ends.
// The sequence number of "<limiter_id>-<sequence>" event ids; nullopt for any other shape.
std::optional<int64_t> EventSequence(const events::v1::Decision& d);

std::vector<AnalyticsOp> AggregateDecisions(const std::vector<events::v1::Decision>& decisions,
                                            int64_t retention_minutes);

}  // namespace rl::analytics
