#pragma once
// The analytics workers as the dashboard shows them: each worker's GET /health (its Redis, the
// partitions it owns and each one's lag), asked over HTTP.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rl::gateway {

struct WorkerStatus {
  std::string url;
  bool ok = false;        // answered 200
  std::string error;      // why not, when it did not answer
  nlohmann::json health;  // its /health body (null when it did not answer)
};

// Asks every worker of `urls` ("http://host:port"; a name stands for all its addresses, so the
// replicas of a scaled compose service are all found), `timeout_ms` each.
std::vector<WorkerStatus> FetchWorkerStatus(const std::vector<std::string>& urls, int timeout_ms);

// {"workers": [{url, ok, error?, status, assigned_partitions, partitions: [{partition, lag}],
// redis_ok, group?}], "total_lag" (the group's: every partition, whoever owns it),
// "unowned_partitions", "stalled_partitions", "group_measured" (a worker reached the brokers),
// "healthy" (every worker answered "ok", and the group was measured)}. Pure.
nlohmann::json WorkersJson(const std::vector<WorkerStatus>& workers);

}  // namespace rl::gateway
