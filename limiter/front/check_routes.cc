#include "limiter/front/check_routes.h"

#include <google/protobuf/util/json_util.h>

#include "common/base/request_id.h"
#include "limiter/front/rate_limit_headers.h"

namespace rl::limiter {

using nlohmann::json;

int HttpStatusOf(Verdict verdict, int ban_status) {
  switch (verdict) {
    case Verdict::kAllowed:
    case Verdict::kShadowBlocked:
    case Verdict::kAllowlisted:
    case Verdict::kFailOpen:
      return 200;
    case Verdict::kBlocked:
      return 429;
    case Verdict::kBanned:
      return ban_status;
    case Verdict::kDenied:
      return 403;
    case Verdict::kFailClosed:
      return 503;
    case Verdict::kInvalid:
      return 400;
    case Verdict::kUnauthenticated:
      return 401;
  }
  return 500;
}

json CheckResultJson(const CheckResult& r) {
  switch (r.verdict) {
    case Verdict::kInvalid:
      return {{"error", {{"code", "invalid_argument"}, {"message", r.error_message}}}};
    case Verdict::kUnauthenticated:
      return {{"error", {{"code", "unauthenticated"}, {"message", r.error_message}}}};
    case Verdict::kAllowed:
    case Verdict::kShadowBlocked:
    case Verdict::kAllowlisted:
    case Verdict::kFailOpen:
    case Verdict::kBlocked:
    case Verdict::kBanned:
    case Verdict::kDenied:
    case Verdict::kFailClosed:
      break;
  }
  if (r.unlimited) {
    return {{"allowed", r.allowed()},
            {"unlimited", true},
            {"retry_after_ms", r.retry_after_ms},
            {"rule", r.rule},
            {"outcome", VerdictName(r.verdict)}};
  }
  return common::CheckAnswerJson({.allowed = r.allowed(),
                                  .limit = r.limit,
                                  .remaining = r.remaining,
                                  .reset_ms = r.reset_ms,
                                  .retry_after_ms = r.retry_after_ms,
                                  .rule = r.rule,
                                  .outcome = VerdictName(r.verdict)});
}

CheckRoutes::CheckRoutes(DecisionRunner& runner, RlsService& rls,
                         common::MetricsRegistry& metrics, const common::Clock& clock,
                         std::string check_token)
    : runner_(runner),
      rls_(rls),
      clock_(clock),
      check_token_(std::move(check_token)),
      check_latency_(metrics.AddHistogram("rl_check_duration_seconds",
                                          "Time to answer POST /check, parsing included",
                                          common::LatencyBuckets())),
      batch_latency_(metrics.AddHistogram("rl_check_batch_duration_seconds",
                                          "Time to answer POST /check/batch, parsing included",
                                          common::LatencyBuckets())),
      rejected_type_(metrics.AddCounter("rl_check_rejected_total",
                                        "POST /check requests refused before any Redis call",
                                        {{"code", "415"}})),
      rejected_size_(metrics.AddCounter("rl_check_rejected_total",
                                        "POST /check requests refused before any Redis call",
                                        {{"code", "413"}})),
      rejected_invalid_(metrics.AddCounter("rl_check_rejected_total",
                                           "POST /check requests refused before any Redis call",
                                           {{"code", "400"}})) {}

bool CheckRoutes::Admit(const common::HttpRequestView& request, size_t max_bytes,
                        common::HttpAnswer& answer) {
  if (!common::RequireBearerToken(request.authorization, check_token_, answer)) return false;
  auto refused = common::RefuseCheckBody(common::IsJsonContentType(request.content_type),
                                         request.body.size(), max_bytes);
  if (!refused) return true;
  (refused->status == 415 ? rejected_type_ : rejected_size_).Inc();
  answer.Error(refused->status, refused->code, refused->message);
  return false;
}

void CheckRoutes::Invalid(common::HttpAnswer& answer, std::string_view code,
                          const std::string& message) {
  rejected_invalid_.Inc();
  answer.Error(400, code, message);
}

void CheckRoutes::Check(const common::HttpRequestView& http, common::HttpResponder respond) {
  const int64_t start_us = clock_.MonotonicUs();
  common::HttpAnswer answer;
  if (!Admit(http, kMaxCheckBodyBytes, answer)) return respond(std::move(answer));
  auto request = ParseCheckRequest(http.body, kMaxCost);
  if (!request.ok()) {
    Invalid(answer, "invalid_argument", request.status().message());
    return respond(std::move(answer));
  }
  RequestContext context = runner_.NewContext(common::TakeRequestId(http.request_id, answer));
  const common::RequestIdScope in_request(context.request_id);
  runner_.Submit(
      std::move(context), {std::move(request.value())},
      [this, start_us, answer = std::move(answer), respond = std::move(respond)](
          Decisions decided) mutable {
        const CheckResult& result = decided.results.front();  // one policy, to the status code
        for (auto& [name, value] : RateLimitHeaders(result)) answer.SetHeader(name, value);
        answer.Json(HttpStatusOf(result.verdict, decided.policy->policy.ban_status),
                    CheckResultJson(result));
        check_latency_.Observe(static_cast<double>(clock_.MonotonicUs() - start_us) / 1e6);
        respond(std::move(answer));
      });
}

void CheckRoutes::CheckBatch(const common::HttpRequestView& http,
                             common::HttpResponder respond) {
  const int64_t start_us = clock_.MonotonicUs();
  common::HttpAnswer answer;
  if (!Admit(http, kMaxBatchBodyBytes, answer)) return respond(std::move(answer));
  auto batch = ParseBatchRequest(http.body, kMaxCost);
  if (!batch.ok()) {
    Invalid(answer, "invalid_argument", batch.status().message());
    return respond(std::move(answer));
  }
  RequestContext context = runner_.NewContext(common::TakeRequestId(http.request_id, answer));
  const common::RequestIdScope in_request(context.request_id);
  std::vector<CheckRequest> valid;
  for (const auto& item : batch->items) {
    if (item.ok()) valid.push_back(item.value());
  }
  auto items = std::make_shared<BatchRequest>(std::move(batch.value()));
  runner_.Submit(
      std::move(context), std::move(valid),
      [this, start_us, items, answer = std::move(answer), respond = std::move(respond)](
          Decisions decided) mutable {
        const int ban_status = decided.policy->policy.ban_status;
        json results = json::array();
        size_t next = 0;
        for (const auto& item : items->items) {
          if (!item.ok()) {
            rejected_invalid_.Inc();
            results.push_back(
                {{"status", 400},
                 {"error", {{"code", "invalid_argument"}, {"message", item.status().message()}}}});
            continue;
          }
          const CheckResult& r = decided.results[next++];
          json entry = CheckResultJson(r);
          entry["status"] = HttpStatusOf(r.verdict, ban_status);
          results.push_back(std::move(entry));
        }
        answer.Json(200, {{"results", results}});
        batch_latency_.Observe(static_cast<double>(clock_.MonotonicUs() - start_us) / 1e6);
        respond(std::move(answer));
      });
}

void CheckRoutes::Json(const common::HttpRequestView& http, common::HttpResponder respond) {
  common::HttpAnswer answer;
  if (!Admit(http, kMaxBatchBodyBytes, answer)) return respond(std::move(answer));
  RateLimitRequest request;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // as the reference service's protojson
  if (!google::protobuf::util::JsonStringToMessage(std::string(http.body), &request, options)
           .ok()) {
    Invalid(answer, "invalid_json", "the body is not a RateLimitRequest in proto3 JSON");
    return respond(std::move(answer));
  }
  RequestContext context = runner_.NewContext(common::TakeRequestId(http.request_id, answer));
  const common::RequestIdScope in_request(context.request_id);
  rls_.Decide(std::move(context), request,
              [this, answer = std::move(answer), respond = std::move(respond)](
                  common::Result<RateLimitResponse> response) mutable {
                if (!response.ok()) {
                  Invalid(answer, "invalid_argument", response.status().message());
                  return respond(std::move(answer));
                }
                std::string out;
                (void)google::protobuf::util::MessageToJsonString(response.value(), &out);
                answer.status =
                    response->overall_code() == RateLimitResponse::OVER_LIMIT ? 429 : 200;
                answer.body = std::move(out);
                answer.content_type = "application/json";
                respond(std::move(answer));
              });
}

}  // namespace rl::limiter
