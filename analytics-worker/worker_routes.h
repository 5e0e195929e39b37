#pragma once
// The worker's routes as one table of no server's types (common/http/http_exchange.h): main.cc
// mounts it on cpp-httplib, unit tests call it in-process (RouteTable::Serve).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "analytics-worker/group_lag.h"
#include "common/base/metrics.h"
#include "common/base/status.h"
#include "common/http/http_exchange.h"

namespace rl::analytics {

// What GET /health reports, read when it is asked.
struct WorkerHealth {
  common::Status redis;  // PING of the analytics Redis
  int64_t redis_latency_us = 0;
  std::optional<GroupLag> group;  // the group's last lag measurement, if any
  int64_t now_ms = 0;
  int64_t group_lag_interval_ms = 0;  // GROUP_LAG_INTERVAL_MS: how fresh `group` must be
  int assigned_partitions = 0;
  std::map<int32_t, int64_t> partition_lags;  // of this worker's partitions
};

// GET /health's answer: 503 "unavailable" without Redis; else 200, "degraded" (the worker itself
// serves) while the group's analytics are not progressing (a broker out of reach, a partition
// nobody owns, one that stalled, a rebalance, no recent measurement), "ok" otherwise. Pure.
void AnswerWorkerHealth(const WorkerHealth& health, common::HttpAnswer& answer);

// GET /health (from `health`, asked per request), GET /metrics and GET /live. `metrics` must
// outlive the table's routes.
common::RouteTable WorkerRoutes(std::function<WorkerHealth()> health,
                                const common::MetricsRegistry& metrics);

}  // namespace rl::analytics
