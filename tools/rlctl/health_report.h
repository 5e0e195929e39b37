#pragma once
// rlctl health's verdict from what the stack answered: which parts are healthy, as a table and as
// JSON. Pure: rlctl.cc does the asking.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/rlctl/http_call.h"

namespace rl::rlctl {

// A dead limiter's stale record makes health fail for this long after its last record.
inline constexpr int64_t kStaleCountsForMs = 3'600'000;

// What the stack answered.
struct HealthAnswers {
  std::string gateway_url;
  Answer gateway;  // the gateway's GET /health
  // Each limiter's own GET /health, in the order of gateway.body["limiters"]; nullopt: no answer.
  std::vector<std::optional<Answer>> limiters;
  std::optional<Answer> workers;  // GET /analytics/workers
  std::string workers_error;      // why it did not answer
  std::optional<Answer> ledger;   // GET /analytics/limiters
};

struct HealthVerdict {
  bool healthy = false;
  nlohmann::json report;                      // --json
  std::vector<std::vector<std::string>> rows;  // service, url, health, detail
};

// Healthy when the gateway, the analytics Redis, every limiter (with its Redis and Kafka), every
// worker and the consumer group are, and no limiter's record went stale within
// kStaleCountsForMs. Pure.
HealthVerdict JudgeHealth(const HealthAnswers& answers);

}  // namespace rl::rlctl
