#include "limiter/rate_limit_headers.h"

#include <algorithm>

namespace rl::limiter {

namespace {

int64_t CeilSeconds(int64_t ms) { return (ms + 999) / 1000; }

}  // namespace

Headers RateLimitHeaders(const CheckResult& r) {
  Headers h;
  if (r.HasLimitState()) {
    std::string policies;
    for (const RuleSummary& p : r.policies) {
      policies +=
          (policies.empty() ? "" : ", ") +
          ("\"" + p.name + "\";q=" + std::to_string(p.quota) + ";w=" + std::to_string(p.window_s));
      if (p.burst > 0) policies += ";burst=" + std::to_string(p.burst);  // an extension parameter
    }
    const std::string reset = std::to_string(CeilSeconds(r.reset_ms));
    h.emplace_back("RateLimit-Policy", policies);
    h.emplace_back("RateLimit",
                   "\"" + r.rule + "\";r=" + std::to_string(r.remaining) + ";t=" + reset);
    h.emplace_back("X-RateLimit-Limit", std::to_string(r.limit));
    h.emplace_back("X-RateLimit-Remaining", std::to_string(r.remaining));
    h.emplace_back("X-RateLimit-Reset", reset);
  }
  if (!r.allowed && r.retry_after_ms > 0) {
    h.emplace_back("Retry-After",
                   std::to_string(std::max<int64_t>(1, CeilSeconds(r.retry_after_ms))));
  }
  return h;
}

}  // namespace rl::limiter
