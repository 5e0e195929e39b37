#include "limiter/front/admin_routes.h"

#include <nlohmann/json.hpp>

#include "common/base/identifiers.h"
#include "limiter/core/api_key_resolver.h"

namespace rl::limiter {

using nlohmann::json;

AdminRoutes::AdminRoutes(DecisionService& service, AdminStore& admin, ApiKeyStore& api_keys,
                         const common::Clock& clock, std::string admin_token)
    : service_(service),
      admin_(admin),
      api_keys_(api_keys),
      admin_token_(std::move(admin_token)),
      key_log_(clock) {}

void AdminRoutes::Inspect(const common::HttpRequestView& request, common::HttpAnswer& answer) {
  Answer(request, false, answer);
}

void AdminRoutes::Reset(const common::HttpRequestView& request, common::HttpAnswer& answer) {
  Answer(request, true, answer);
}

bool AdminRoutes::Authorized(const common::HttpRequestView& request,
                             common::HttpAnswer& answer) const {
  if (admin_token_.empty()) {
    answer.Error(403, "forbidden", "admin endpoints are off: set ADMIN_TOKEN");
    return false;
  }
  if (!common::HasBearerToken(request.authorization, admin_token_)) {
    answer.SetHeader("WWW-Authenticate", "Bearer");
    answer.Error(401, "unauthenticated", "Authorization: Bearer <ADMIN_TOKEN>");
    return false;
  }
  return true;
}

void AdminRoutes::Answer(const common::HttpRequestView& http, bool reset,
                         common::HttpAnswer& answer) {
  if (!Authorized(http, answer)) return;
  CheckRequest request;
  request.user_id = http.path_params.empty() ? "" : http.path_params.front();
  if (auto action = http.Param("action")) request.action = std::string(*action);
  if (auto api_key = http.Param("api_key")) request.api_key = std::string(*api_key);
  if (!common::IsValidUserId(request.user_id) || !common::IsValidAction(request.action)) {
    return answer.Error(400, "invalid_argument", "invalid user or action");
  }
  auto resolved = ResolveRequest(service_.policy()->policy, api_keys_, request, key_log_);
  if (!resolved.ok()) return answer.Error(503, "unavailable", resolved.status().message());
  const Resolution& resolution = resolved.value();
  if (resolution.kind == Resolution::Kind::kUnknownApiKey) {
    return answer.Error(401, "unauthenticated", "unknown API key");
  }
  json rules = json::array();
  std::vector<std::string> keys;
  for (const RuleCheck& c : resolution.checks) {
    json rule = {{"rule", c.rule}, {"algorithm", AlgorithmName(c.params.algorithm)}, {"key", c.key}};
    for (const auto& [name, key] :
         {std::pair{"state", c.key}, {"ban", c.ban_key}, {"strikes", c.strike_key}}) {
      keys.push_back(key);
      if (reset) continue;
      auto state = admin_.Inspect(key);
      if (!state.ok()) return answer.Error(503, "unavailable", state.status().message());
      rule[name] = {{"type", state->type}, {"fields", state->fields}, {"ttl_ms", state->ttl_ms}};
    }
    rules.push_back(rule);
  }
  json body = {{"user_id", resolution.user_id},
               {"action", request.action},
               {"tier", resolution.tier},
               {"rules", rules}};
  if (reset) {
    auto deleted = keys.empty() ? common::Result<int64_t>(int64_t{0}) : admin_.Delete(keys);
    if (!deleted.ok()) return answer.Error(503, "unavailable", deleted.status().message());
    body["deleted_keys"] = deleted.value();
  }
  answer.Json(200, body);
}

}  // namespace rl::limiter
