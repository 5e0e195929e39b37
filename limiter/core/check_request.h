#pragma once
// The /check request contract lives in common/check (the gateway validates with it too); the
// limiter names it here.

#include "common/check/check_request.h"

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

}  // namespace rl::limiter
