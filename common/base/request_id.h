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

// The request id log lines carry (LOG_FORMAT=json: "request_id"): the one of the request whose
// code this thread runs now, "" outside one. Only the log formatter reads it; code that needs a
// request's id is passed it (the limiter's core: limiter/core/request_context.h), so an event loop
// that interleaves requests on one thread sets it around each request's callback.
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
