#pragma once
// GET /health and /ready as an event port answers them: checked on a thread of their own (the
// checks wait on Redis and Kafka, which an event loop must never do) and answered from the last
// check, with its age (checked_ms_ago); 503 "starting" before the first.

#include <functional>
#include <mutex>
#include <optional>

#include "common/base/clock.h"
#include "common/http/http_exchange.h"
#include "limiter/front/limiter_routes.h"

namespace rl::limiter {

class CheckedReports {
 public:
  // How often the composition root calls Check.
  static constexpr int kEveryMs = 500;

  CheckedReports(std::function<HealthReport()> health, std::function<HealthReport()> ready,
                 const common::Clock& clock)
      : health_of_(std::move(health)), ready_of_(std::move(ready)), clock_(clock) {}

  // Runs both checks (blocking) and keeps their reports. Thread-safe.
  void Check();
  // GET /health and GET /ready, answered from the last reports at once.
  void AddRoutes(common::RouteTable& routes);

 private:
  void Answer(const std::optional<HealthReport>& report, common::HttpAnswer& answer);

  const std::function<HealthReport()> health_of_;
  const std::function<HealthReport()> ready_of_;
  const common::Clock& clock_;
  std::mutex mu_;
  std::optional<HealthReport> health_;  // guarded by mu_
  std::optional<HealthReport> ready_;   // guarded by mu_
  int64_t checked_at_ms_ = 0;           // guarded by mu_
};

}  // namespace rl::limiter
