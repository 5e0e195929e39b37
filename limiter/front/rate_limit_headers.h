#pragma once

#include <string>
#include <utility>
#include <vector>

#include "limiter/core/decision_service.h"

namespace rl::limiter {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Response headers for a decision: RateLimit-Policy listing every rule that applied and RateLimit
// for the reported rule (IETF httpapi ratelimit-headers draft), X-RateLimit-Limit/Remaining/Reset
// (seconds until full), and Retry-After (seconds, rounded up) when the answer is not allowed.
// Only enforced rules appear (a shadow rule is never announced to clients). Fail-mode and list
// answers carry no limit state. Pure. HTTP answers carry them, and so do the
// gRPC answers of Envoy's rate limit service (response_headers_to_add).
Headers RateLimitHeaders(const CheckResult& result);

}  // namespace rl::limiter
