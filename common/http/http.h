#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/http/http_exchange.h"
#include "common/http/http_options.h"

namespace rl::common {

// Applies the options and the project's defaults to a server: TCP_NODELAY (without it keep-alive
// requests stall ~40 ms on delayed ACKs), timeouts (SlowRequestReaper for the total one), a thread
// per connection up to max_threads (ElasticThreadPool, with its metrics), a JSON body for every
// error httplib answers itself (404, 413, ...), and a JSON 500 for any exception that escapes a
// handler. The listening socket is exclusive (ExclusiveListenSocket).
void ConfigureServer(httplib::Server& server, const HttpServerOptions& options,
                     MetricsRegistry& metrics, const Clock& clock);

// Socket options for every listening socket of the project: SO_REUSEADDR (a restart may rebind
// while old connections linger in TIME_WAIT) and never SO_REUSEPORT, which cpp-httplib and grpc++
// turn on by default and which lets a second process bind the same port and take part of its
// traffic. A taken port then fails the bind, and the start.
void ExclusiveListenSocket(int sock);

// Writes `body` as the JSON response.
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);

// Writes {"error": {"code": code, "message": message}}.
void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message);

// True if `token` is set and the request carries "Authorization: Bearer <token>" (compared in
// constant time).
bool HasBearerToken(const httplib::Request& req, const std::string& token);

// The request's X-Request-Id if it is a valid request id (common/base/request_id.h), else a new
// one; set on the answer too.
std::string TakeRequestId(const httplib::Request& req, httplib::Response& res);

// When `token` is set and the request lacks it: answers 401 and returns false.
bool RequireBearerToken(const httplib::Request& req, httplib::Response& res,
                        const std::string& token);

// True if the Content-Type is application/json, parameters such as charset allowed.
bool IsJsonContentType(const httplib::Request& req);

// A cpp-httplib request as route handlers read it (common/http/http_exchange.h); it refers to
// `req`'s body.
HttpRequestView ViewOf(const httplib::Request& req);
// Writes a handler's answer.
void Send(const HttpAnswer& answer, httplib::Response& res);

// Registers a service's routes and remembers which methods each path serves, so that Finish()
// makes every other method of a known path answer 405 with an `Allow` header and a JSON error
// (OPTIONS: 204 with `Allow`). GET routes answer HEAD too (httplib). `server` must outlive it.
class Routes {
 public:
  explicit Routes(httplib::Server& server) : server_(server) {}
  Routes& Get(const std::string& pattern, httplib::Server::Handler handler);
  Routes& Post(const std::string& pattern, httplib::Server::Handler handler);
  Routes& Delete(const std::string& pattern, httplib::Server::Handler handler);
  // Call once, after the last route.
  void Finish();

 private:
  void Remember(const std::string& pattern, const std::string& method);

  httplib::Server& server_;
  std::vector<std::pair<std::string, std::vector<std::string>>> paths_;  // in registration order
};

// Mounts every route of `table` (common/http/http_exchange.h) on `server` through Routes (so every
// other method of a known path answers 405); call once, with all of a service's routes.
void MountRoutes(httplib::Server& server, const RouteTable& table);

}  // namespace rl::common

namespace rl::common {

// Binds host:port (port 0: any free port), serves on a background thread, and blocks until
// SIGTERM or SIGINT (BlockTerminationSignals() must have been called); then stops the server,
// letting in-flight requests finish. Returns false if the address cannot be bound.
// SIGHUP calls `on_hangup` (if given) and serving goes on.
bool ServeUntilSignal(httplib::Server& server, const std::string& host, int port,
                      const std::string& banner, const std::function<void()>& on_hangup = nullptr);

// Mounts every route of `table` (common/http/http_exchange.h) on `server` through Routes (so every
// other method of a known path answers 405); call once, with all of a service's routes.
void MountRoutes(httplib::Server& server, const RouteTable& table);

}  // namespace rl::common
