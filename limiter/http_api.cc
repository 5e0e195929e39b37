#include "http_api.h"

#include "event_codec.h"
#include "http.h"
#include "service.h"

namespace rl::limiter {

using nlohmann::json;

namespace {

int64_t CeilSeconds(int64_t ms) { return (ms + 999) / 1000; }

}  // namespace

Headers RateLimitHeaders(const CheckResult& r) {
  Headers h;
  if (r.HasLimitState()) {
    const std::string reset = std::to_string(CeilSeconds(r.reset_ms));
    h.emplace_back("RateLimit-Policy", "\"" + r.rule + "\";q=" + std::to_string(r.limit) +
                                           ";w=" + std::to_string(r.window_s));
    h.emplace_back("RateLimit",
                   "\"" + r.rule + "\";r=" + std::to_string(r.remaining) + ";t=" + reset);
    h.emplace_back("X-RateLimit-Limit", std::to_string(r.limit));
    h.emplace_back("X-RateLimit-Remaining", std::to_string(r.remaining));
    h.emplace_back("X-RateLimit-Reset", reset);
  }
  if (!r.allowed) {
    h.emplace_back("Retry-After",
                   std::to_string(std::max<int64_t>(1, CeilSeconds(r.retry_after_ms))));
  }
  return h;
}

json CheckResultJson(const CheckResult& r) {
  return {{"allowed", r.allowed},
          {"limit", r.limit},
          {"remaining", r.remaining},
          {"reset_ms", r.reset_ms},
          {"retry_after_ms", r.retry_after_ms},
          {"rule", r.rule},
          {"outcome", events::OutcomeName(r.outcome)}};
}

void RegisterLimiterRoutes(httplib::Server& server, const LimiterApi& api) {
  common::Histogram& latency = api.metrics.AddHistogram(
      "rl_check_duration_seconds", "Time to answer POST /check, parsing included",
      common::LatencyBuckets());
  auto rejected = [&api](const char* code) -> common::Counter& {
    return api.metrics.AddCounter("rl_check_rejected_total",
                                  "POST /check requests refused before any Redis call",
                                  {{"code", code}});
  };
  common::Counter& rejected_type = rejected("415");
  common::Counter& rejected_size = rejected("413");
  common::Counter& rejected_invalid = rejected("400");

  server.Post("/check", [&api, &latency, &rejected_type, &rejected_size, &rejected_invalid](
                            const httplib::Request& req, httplib::Response& res) {
    const int64_t start_us = api.clock.MonotonicUs();
    if (!common::IsJsonContentType(req)) {
      rejected_type.Inc();
      return common::SendError(res, 415, "unsupported_media_type",
                               "Content-Type must be application/json");
    }
    if (req.body.size() > kMaxCheckBodyBytes) {
      rejected_size.Inc();
      return common::SendError(res, 413, "payload_too_large", "request body is too large");
    }
    auto request = ParseCheckRequest(req.body, api.service.policy().bucket.capacity);
    if (!request.ok()) {
      rejected_invalid.Inc();
      return common::SendError(res, 400, "invalid_argument", request.status().message());
    }
    CheckResult result = api.service.Check(request.value());
    for (auto& [name, value] : RateLimitHeaders(result)) res.set_header(name, value);
    common::SendJson(res, result.HttpStatus(), CheckResultJson(result));
    latency.Observe(static_cast<double>(api.clock.MonotonicUs() - start_us) / 1e6);
  });
  server.Get("/check", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    common::SendError(res, 405, "method_not_allowed", "use POST /check");
  });
  server.Get("/health", [&api](const httplib::Request&, httplib::Response& res) {
    HealthReport report = api.health();
    common::SendJson(res, report.status, report.body);
  });
  common::ServeMetrics(server, api.metrics);
}

}  // namespace rl::limiter
