#pragma once
// One HTTP request and its answer in no server's types: what a route handler reads and writes, so
// that the same handler runs on any server (cpp-httplib's today, an event loop's next) and in a
// unit test with no server at all. common/http/http.h converts to and from cpp-httplib's.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rl::common {

// What route handlers read of a request.
struct HttpRequestView {
  std::string_view body;  // the server's buffer: valid while the handler runs
  std::string content_type;
  std::string authorization;  // the Authorization header, empty if none
  std::string request_id;     // X-Request-Id as offered, empty if none
};

// A handler's answer: status, headers and body (JSON unless said otherwise).
struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";

  void SetHeader(std::string name, std::string value);
  // Sets `body` as the JSON answer, with `status`.
  void Json(int status, const nlohmann::json& body);
  // {"error": {"code": code, "message": message}}.
  void Error(int status, std::string_view code, std::string_view message);
  // The value of header `name` (case-insensitive), empty if unset.
  std::string HeaderValue(std::string_view name) const;
};

// The JSON text of `body` as every service writes it (invalid UTF-8 replaced, never thrown on).
std::string JsonText(const nlohmann::json& body);

// True if the Content-Type is application/json, parameters such as charset allowed.
bool IsJsonContentType(std::string_view content_type);

// True if `token` is set and `authorization` is "Bearer <token>" (compared in constant time).
bool HasBearerToken(std::string_view authorization, const std::string& token);

// When `token` is set and `authorization` lacks it: answers 401 (WWW-Authenticate: Bearer) and
// returns false.
bool RequireBearerToken(std::string_view authorization, const std::string& token,
                        HttpAnswer& answer);

// The offered X-Request-Id if it is a valid request id (common/base/request_id.h), else a new
// one; set on the answer too.
std::string TakeRequestId(std::string_view offered, HttpAnswer& answer);

}  // namespace rl::common
