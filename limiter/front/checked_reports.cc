#include "limiter/front/checked_reports.h"

namespace rl::limiter {

void CheckedReports::Check() {
  HealthReport health = health_of_();
  HealthReport ready = ready_of_();
  const std::lock_guard lock(mu_);
  health_ = std::move(health);
  ready_ = std::move(ready);
  checked_at_ms_ = clock_.NowMs();
}

void CheckedReports::AddRoutes(common::RouteTable& routes) {
  routes.Get("/health", [this](const common::HttpRequestView&, common::HttpAnswer& answer) {
    Answer(health_, answer);
  });
  routes.Get("/ready", [this](const common::HttpRequestView&, common::HttpAnswer& answer) {
    Answer(ready_, answer);
  });
}

void CheckedReports::Answer(const std::optional<HealthReport>& report,
                            common::HttpAnswer& answer) {
  const std::lock_guard lock(mu_);
  if (!report) return answer.Json(503, {{"status", "starting"}});
  nlohmann::json body = report->body;
  body["checked_ms_ago"] = clock_.NowMs() - checked_at_ms_;
  answer.Json(report->status, body);
}

}  // namespace rl::limiter
