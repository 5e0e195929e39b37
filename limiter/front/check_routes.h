#pragma once
// The decision routes, POST /check, /check/batch and /json, as handlers of no server's types
// (common/http/http_exchange.h): the limiter's route table holds them (limiter_routes.h), and unit
// tests call them with no server.

#include <nlohmann/json.hpp>
#include <string>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/http/http_exchange.h"
#include "limiter/core/decision_runner.h"
#include "limiter/front/rls_service.h"

namespace rl::limiter {

// The HTTP status of a verdict: 200 for the ones that admit, 429 blocked, `ban_status` (429 or
// 403, the policy's) banned, 403 denied, 503 fail_closed, 400 invalid, 401 unauthenticated. Pure.
int HttpStatusOf(Verdict verdict, int ban_status);

// The JSON body of a /check answer (an error body for kInvalid and kUnauthenticated). Pure.
nlohmann::json CheckResultJson(const CheckResult& result);

// Each handler refuses, before parsing, a request without the CHECK_TOKEN (401, when one is set),
// of another content type than JSON (415) or over its size (413), and an invalid body (400), with
// rl_check_rejected_total{code}; and sets X-Request-Id (the offered one if valid, else a new one).
// /check and /check/batch decide through `runner`, /json through `rls` (on the same runner):
// synchronously (DecisionService: answered before they return) or on an event loop
// (AsyncDecisionService: answered when Redis has). As thread-safe as the runner.
class CheckRoutes {
 public:
  CheckRoutes(DecisionRunner& runner, RlsService& rls, common::MetricsRegistry& metrics,
              const common::Clock& clock, std::string check_token);

  // POST /check: one check, its verdict as the status code, the RateLimit headers.
  void Check(const common::HttpRequestView& request, common::HttpResponder respond);
  // POST /check/batch: up to kMaxBatchChecks checks, each decided like POST /check (all or
  // nothing on its own), the store's part in one round trip; one result per check, in order, each
  // with its "status" (what /check would have answered), a bad check an error of its own.
  void CheckBatch(const common::HttpRequestView& request, common::HttpResponder respond);
  // POST /json: a ShouldRateLimit request in proto3 JSON, as the reference service offers: 200 OK
  // or 429 OVER_LIMIT with the response as JSON.
  void Json(const common::HttpRequestView& request, common::HttpResponder respond);

 private:
  // Whether the request may be parsed (see the class comment); answers it if not.
  bool Admit(const common::HttpRequestView& request, size_t max_bytes,
             common::HttpAnswer& answer);
  void Invalid(common::HttpAnswer& answer, std::string_view code, const std::string& message);

  DecisionRunner& runner_;
  RlsService& rls_;
  const common::Clock& clock_;
  const std::string check_token_;
  common::Histogram& check_latency_;
  common::Histogram& batch_latency_;
  common::Counter& rejected_type_;
  common::Counter& rejected_size_;
  common::Counter& rejected_invalid_;
};

}  // namespace rl::limiter
