#pragma once
// Request ids: one per request, taken from X-Request-Id (or made) by the gateway, passed to the
// limiter, which sends it back in its answer and records it in the decision event; log lines
// written while a request is handled carry it (LOG_FORMAT=json: "request_id").

#include <string>
#include <string_view>

namespace rl::common {

inline constexpr char kRequestIdHeader[] = "X-Request-Id";

// 1..128 characters of [A-Za-z0-9._:-]: what a request id may be (anything else is replaced).
bool IsValidRequestId(std::string_view id);
// A new random id: 32 hex digits.
std::string NewRequestId();
// `offered` if it is a valid request id, else a new one.
std::string RequestIdOr(std::string_view offered);

// The request id of the request this thread is handling ("" outside one).
const std::string& CurrentRequestId();
// Sets the thread's current request id for its lifetime.
class RequestIdScope {
 public:
  explicit RequestIdScope(const std::string& id);
  ~RequestIdScope();
  RequestIdScope(const RequestIdScope&) = delete;
  RequestIdScope& operator=(const RequestIdScope&) = delete;

 private:
  std::string previous_;
};

}  // namespace rl::common
