#pragma once
// What the decision core decides: a /check request (its contract lives in common/check, since the
// gateway validates with it too), or one request descriptor of Envoy's rate limit protocol.

#include <optional>
#include <string>

#include "common/check/check_request.h"
#include "limiter/core/descriptor_config.h"

namespace rl::limiter {

using common::BatchRequest;
using common::CheckRequest;
using common::CheckRequestFromJson;
using common::kMaxBatchBodyBytes;
using common::kMaxBatchChecks;
using common::kMaxCheckBodyBytes;
using common::kMaxCost;
using common::ParseBatchRequest;
using common::ParseCheckRequest;

// One request descriptor of `domain` (Envoy's ShouldRateLimit), decided by that domain's
// descriptor config (Envoy ratelimit's format) instead of the rules.
struct DescriptorRequest {
  // user_id: whom the decision counts for in events and analytics; action; cost: its hits; the
  // request id. No API key.
  CheckRequest check;
  std::string domain;
  DescriptorEntries entries;
  // The descriptor's own limit (Envoy's RateLimitOverride), used instead of the config's.
  std::optional<DescriptorLimit> own_limit;
};

}  // namespace rl::limiter
