#include "common/check/check_request.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/base/identifiers.h"
#include "common/base/strict_json.h"

namespace rl::common {

using nlohmann::json;

std::optional<BodyRefusal> RefuseCheckBody(bool json_content_type, size_t bytes, size_t max_bytes) {
  if (!json_content_type) {
    return BodyRefusal{415, "unsupported_media_type", "Content-Type must be application/json"};
  }
  if (bytes > max_bytes) return BodyRefusal{413, "payload_too_large", "request body is too large"};
  return std::nullopt;
}

Result<CheckRequest> ParseCheckRequest(std::string_view body, int64_t max_cost) {
  auto parsed = ParseStrictJson(body);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Status::InvalidArgument("body must be a JSON object");
  return CheckRequestFromJson(parsed.value(), max_cost);
}

Result<BatchRequest> ParseBatchRequest(std::string_view body, int64_t max_cost) {
  auto parsed = ParseStrictJson(body);
  if (!parsed.ok()) return parsed.status();
  const json& doc = parsed.value();
  if (!doc.is_object()) return Status::InvalidArgument("body must be a JSON object");
  auto checks = doc.find("checks");
  if (checks == doc.end() || !checks->is_array() || checks->empty() ||
      checks->size() > kMaxBatchChecks) {
    return Status::InvalidArgument("checks must be an array of 1 to " +
                                   std::to_string(kMaxBatchChecks) + " checks");
  }
  BatchRequest batch;
  batch.items.reserve(checks->size());
  for (const json& item : *checks) {
    if (!item.is_object()) {
      batch.items.emplace_back(Status::InvalidArgument("a check must be a JSON object"));
    } else {
      batch.items.push_back(CheckRequestFromJson(item, max_cost));
    }
  }
  return batch;
}

Result<CheckRequest> CheckRequestFromJson(const json& doc, int64_t max_cost) {
  CheckRequest request;
  if (auto key = doc.find("api_key"); key != doc.end()) {
    if (!key->is_string()) return Status::InvalidArgument("api_key must be a string");
    request.api_key = key->get_ref<const std::string&>();
    if (!common::IsValidApiKey(request.api_key)) {
      return Status::InvalidArgument("api_key must be 1..256 printable ASCII characters");
    }
  }
  auto user = doc.find("user_id");
  if (user == doc.end() && request.api_key.empty()) {
    return Status::InvalidArgument("user_id is required (or an api_key)");
  }
  if (user != doc.end()) {
    if (!user->is_string()) return Status::InvalidArgument("user_id must be a string");
    request.user_id = user->get_ref<const std::string&>();
    if (!IsValidUserId(request.user_id)) {
      return Status::InvalidArgument(
          std::string("user_id must be ") + kValidUserIdRule);
    }
  }

  if (auto action = doc.find("action"); action != doc.end()) {
    if (!action->is_string()) return Status::InvalidArgument("action must be a string");
    request.action = action->get_ref<const std::string&>();
    if (!IsValidAction(request.action)) {
      return Status::InvalidArgument("action must match [A-Za-z0-9_.:-]{1,64}");
    }
  }

  if (auto cost = doc.find("cost"); cost != doc.end()) {
    const std::string range = "cost must be an integer from 1 to " + std::to_string(max_cost);
    if (cost->is_number_unsigned()) {
      uint64_t v = cost->get<uint64_t>();
      if (v < 1 || v > static_cast<uint64_t>(max_cost)) return Status::InvalidArgument(range);
      request.cost = static_cast<int64_t>(v);
    } else if (cost->is_number_integer()) {
      int64_t v = cost->get<int64_t>();
      if (v < 1 || v > max_cost) return Status::InvalidArgument(range);
      request.cost = v;
    } else {
      return Status::InvalidArgument(range);
    }
  }

  return request;
}

json CheckAnswerJson(const CheckAnswer& answer) {
  return {{"allowed", answer.allowed},
          {"limit", answer.limit},
          {"remaining", answer.remaining},
          {"reset_ms", answer.reset_ms},
          {"retry_after_ms", answer.retry_after_ms},
          {"rule", answer.rule},
          {"outcome", answer.outcome}};
}

int64_t RetryAfterSeconds(int64_t retry_after_ms) {
  return std::max<int64_t>(1, (retry_after_ms + 999) / 1000);
}

}  // namespace rl::common
