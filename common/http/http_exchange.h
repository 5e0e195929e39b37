#pragma once
// One HTTP request and its answer in no server's types: what a route handler reads and writes, so
// that the same handler runs on any server (cpp-httplib's today, an event loop's next) and in a
// unit test with no server at all. common/http/http.h converts to and from cpp-httplib's.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/metrics.h"

namespace rl::common {

// What route handlers read of a request. The views refer to the server's buffers: valid while
// the handler runs.
struct HttpRequestView {
  std::string_view body;
  std::string content_type;
  std::string authorization;  // the Authorization header, empty if none
  std::string request_id;     // X-Request-Id as offered, empty if none
  std::vector<std::string> path_params;  // the route pattern's groups, in order
  std::vector<std::pair<std::string_view, std::string_view>> query;  // decoded, in order
  // Every header as received (the three above included), names in any case.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string remote_address;  // the peer's address

  // The first query parameter `name`, if given.
  std::optional<std::string_view> Param(std::string_view name) const;
  // The first header `name` (case-insensitive), empty if none.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // Every header `name`, in order.
  std::vector<std::string> HeaderValues(std::string_view name) const;
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

// A handler that answers before it returns.
using HttpHandler = std::function<void(const HttpRequestView&, HttpAnswer&)>;
// Hands a request its answer: once, on the thread of the server that owns the request.
using HttpResponder = std::function<void(HttpAnswer)>;
// A handler that may answer later (an event loop's, waiting for Redis), through `respond`. What
// it needs of the request it copies before it returns: the views are valid until then only.
using AsyncHttpHandler = std::function<void(const HttpRequestView&, HttpResponder respond)>;

struct HttpRoute {
  std::string method;   // GET (which serves HEAD too), POST or DELETE
  std::string pattern;  // a regular expression the whole path must match; groups: path_params
  std::regex compiled;
  AsyncHttpHandler handler;
};

// A service's routes in no server's types: a server mounts them (common/http/http.h: MountRoutes;
// common/http/event_http_server.h), and a unit test calls them through Serve with no server.
class RouteTable {
 public:
  RouteTable& Get(std::string pattern, HttpHandler handler);
  RouteTable& Post(std::string pattern, HttpHandler handler);
  RouteTable& Delete(std::string pattern, HttpHandler handler);
  // A POST (or GET) route whose handler may answer later.
  RouteTable& PostAsync(std::string pattern, AsyncHttpHandler handler);
  RouteTable& GetAsync(std::string pattern, AsyncHttpHandler handler);
  // Every route of `other`, after these.
  RouteTable& Add(const RouteTable& other);

  const std::vector<HttpRoute>& routes() const { return routes_; }

  // Answers `request` as a mounted server does: the first route whose method and pattern match
  // (its groups become request.path_params); a path no route matches 404, a path with other
  // methods only 405 with Allow; errors as JSON.
  void Serve(std::string_view method, const std::string& path, HttpRequestView request,
             HttpAnswer& answer) const;
  // The same, the answer handed to `respond`, now or later.
  void ServeAsync(std::string_view method, const std::string& path, HttpRequestView request,
                  HttpResponder respond) const;

 private:
  RouteTable& Add(std::string method, std::string pattern, AsyncHttpHandler handler);
  std::vector<HttpRoute> routes_;
};

// A route calling `method` of `*routes`, which it keeps alive: the one way a table binds the
// handlers of a routes object (an aliasing shared_ptr binds a member of a larger object).
template <typename Routes>
HttpHandler RouteTo(std::shared_ptr<Routes> routes,
                    void (Routes::*method)(const HttpRequestView&, HttpAnswer&)) {
  return [routes = std::move(routes), method](const HttpRequestView& request,
                                              HttpAnswer& answer) {
    ((*routes).*method)(request, answer);
  };
}
template <typename Routes>
AsyncHttpHandler RouteTo(std::shared_ptr<Routes> routes,
                         void (Routes::*method)(const HttpRequestView&, HttpResponder)) {
  return [routes = std::move(routes), method](const HttpRequestView& request,
                                              HttpResponder respond) {
    ((*routes).*method)(request, std::move(respond));
  };
}

// GET /metrics in the Prometheus text format, and GET /live (200 while the process serves HTTP,
// touching no dependency). `metrics` must outlive the routes.
void AddMetricsAndLiveness(RouteTable& routes, const MetricsRegistry& metrics);

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
