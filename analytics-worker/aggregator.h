#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/analytics/analytics_op.h"
#include "proto-events/decision.pb.h"

namespace rl::analytics {

// The event's sequence: its `sequence` field, or in an event from before that field the number of
// a "<limiter_id>-<sequence>" event id; nullopt if it has neither.
std::optional<int64_t> EventSequence(const events::v1::Decision& d);

// Folds a batch of decisions into the increments it causes (see analytics_keys.h), merged so
// that each (key, field) appears once; deterministic order. Pure. Per limiter instance it also
// counts the events seen and the highest event sequence, so that events a limiter lost (a
// SIGKILL with events still in its producer buffer) show as max_sequence - seen.
// `retention_minutes`: a per-minute bucket expires this long after its minute ends.
std::vector<AnalyticsOp> AggregateDecisions(const std::vector<events::v1::Decision>& decisions,
                                            int64_t retention_minutes);

}  // namespace rl::analytics
