#include "limiter/front/rate_limit_headers.h"

#include <algorithm>

namespace rl::limiter {

namespace {

int64_t CeilSeconds(int64_t ms) { return (ms + 999) / 1000; }

}  // namespace

Headers RateLimitHeaders(const CheckResult& r) {
  Headers h;
  // Enforced rules only: a shadow rule is counted (events, metrics, analytics), never announced.
  if (r.HasLimitState() && !r.enforced.rule.empty()) {
    std::string policies;
    for (const RuleSummary& p : r.policies) {
      if (p.shadow) continue;
      policies +=
          (policies.empty() ? "" : ", ") +
          ("\"" + p.name + "\";q=" + std::to_string(p.quota) + ";w=" + std::to_string(p.window_s));
      if (p.burst > 0) policies += ";burst=" + std::to_string(p.burst);  // an extension parameter
    }
    const EnforcedLimit& e = r.enforced;
    const std::string reset = std::to_string(CeilSeconds(e.reset_ms));
    h.emplace_back("RateLimit-Policy", policies);
    h.emplace_back("RateLimit",
                   "\"" + e.rule + "\";r=" + std::to_string(e.remaining) + ";t=" + reset);
    h.emplace_back("X-RateLimit-Limit", std::to_string(e.limit));
    h.emplace_back("X-RateLimit-Remaining", std::to_string(e.remaining));
    h.emplace_back("X-RateLimit-Reset", reset);
  }
  if (!r.allowed() && r.retry_after_ms > 0) {
    h.emplace_back("Retry-After", std::to_string(common::RetryAfterSeconds(r.retry_after_ms)));
  }
  return h;
}

}  // namespace rl::limiter
