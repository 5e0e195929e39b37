#pragma once
// The POST /check and /check/batch request contract: what a valid body is, parsed one way by the
// limiter and by the gateway (which refuses bad input itself, whatever the limiters' state).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace rl::common {

inline constexpr size_t kMaxCheckBodyBytes = 4096;
// Above any rule's capacity; each rule that applies then caps the cost at its own capacity.
inline constexpr int64_t kMaxCost = 1'000'000'000;

// A validated POST /check body: user_id, or api_key, or both (then the key decides the user).
struct CheckRequest {
  std::string user_id;
  std::string action = "default";
  int64_t cost = 1;
  std::string api_key;  // optional; when given it names the user and tier (limits file)
};

// A POST /check/batch body, {"checks": [ {...}, ... ]}: each item parsed like a /check body, a
// bad one an error of its own (the others still count).
struct BatchRequest {
  std::vector<Result<CheckRequest>> items;
};
inline constexpr size_t kMaxBatchChecks = 100;
inline constexpr size_t kMaxBatchBodyBytes = 64 * 1024;

// Why a /check or /check/batch body is refused before it is parsed: another content type (415)
// or more than `max_bytes` (413). The same answer from the limiter and the gateway.
struct BodyRefusal {
  int status;
  const char* code;
  const char* message;
};
std::optional<BodyRefusal> RefuseCheckBody(bool json_content_type, size_t bytes, size_t max_bytes);

// Parses a batch body: an object whose "checks" is an array of 1..kMaxBatchChecks items. Pure.
Result<BatchRequest> ParseBatchRequest(std::string_view body, int64_t max_cost);

// Validates one check given as a parsed JSON object. Pure.
Result<CheckRequest> CheckRequestFromJson(const nlohmann::json& doc, int64_t max_cost);

// Parses and validates a JSON body. Pure: no I/O. Unknown fields are ignored (forward
// compatibility); known fields of the wrong type or out of range are errors whose message names
// the field. `max_cost` is the bucket capacity.
Result<CheckRequest> ParseCheckRequest(std::string_view body, int64_t max_cost);

// The answer to one check with a limit state, as POST /check and every /check/batch item give
// it, from the limiter or (in its fail mode, when no limiter answered) the gateway.
struct CheckAnswer {
  bool allowed = false;
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;
  std::string rule;
  std::string_view outcome;  // common/base/outcomes.h
};
nlohmann::json CheckAnswerJson(const CheckAnswer& answer);
// The Retry-After header's seconds for a retry in `retry_after_ms` (> 0): rounded up, at least 1,
// so that a client never retries before it would be admitted.
int64_t RetryAfterSeconds(int64_t retry_after_ms);

}  // namespace rl::common
