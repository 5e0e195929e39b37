#include "common/http/http.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "common/base/request_id.h"
#include "common/http/elastic_thread_pool.h"
#include "common/http/slow_request_reaper.h"

namespace rl::common {

std::string TakeRequestId(const httplib::Request& req, httplib::Response& res) {
  std::string id = RequestIdOr(req.get_header_value(kRequestIdHeader));
  res.set_header(kRequestIdHeader, id);
  return id;
}

HttpRequestView ViewOf(const httplib::Request& req) {
  HttpRequestView view{.body = req.body,
                       .content_type = req.get_header_value("Content-Type"),
                       .authorization = req.get_header_value("Authorization"),
                       .request_id = req.get_header_value(kRequestIdHeader),
                       .remote_address = req.remote_addr};
  view.path_params.reserve(req.matches.size());
  for (size_t i = 1; i < req.matches.size(); ++i) view.path_params.push_back(req.matches[i]);
  view.query.reserve(req.params.size());
  for (const auto& [name, value] : req.params) view.query.emplace_back(name, value);
  view.headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) view.headers.emplace_back(name, value);
  return view;
}

void MountRoutes(httplib::Server& server, const RouteTable& table) {
  Routes routes(server);
  for (const HttpRoute& route : table.routes()) {
    // cpp-httplib's thread waits for the answer: the handler must give it before it returns (a
    // synchronous decision service does).
    httplib::Server::Handler handler = [handle = route.handler](const httplib::Request& req,
                                                                 httplib::Response& res) {
      HttpAnswer answer;
      bool answered = false;
      handle(ViewOf(req), [&](HttpAnswer given) {
        answer = std::move(given);
        answered = true;
      });
      if (!answered) {
        spdlog::error("http: the handler of {} {} did not answer before it returned", req.method,
                      req.path);
        answer.Error(500, "internal", "internal error");
      }
      Send(answer, res);
    };
    if (route.method == "GET") {
      routes.Get(route.pattern, std::move(handler));
    } else if (route.method == "POST") {
      routes.Post(route.pattern, std::move(handler));
    } else if (route.method == "DELETE") {
      routes.Delete(route.pattern, std::move(handler));
    } else {
      throw std::logic_error("MountRoutes: no such method " + route.method);
    }
  }
  routes.Finish();
}

void Send(const HttpAnswer& answer, httplib::Response& res) {
  res.status = answer.status;
  for (const auto& [name, value] : answer.headers) res.set_header(name, value);
  res.set_content(answer.body, answer.content_type);
}

namespace {

std::string_view ErrorCodeFor(int status) {
  switch (status) {
    case 400:
      return "invalid_argument";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

}  // namespace

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(JsonText(body), "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view code,
               std::string_view message) {
  SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

bool HasBearerToken(const httplib::Request& req, const std::string& token) {
  return HasBearerToken(req.get_header_value("Authorization"), token);
}

bool RequireBearerToken(const httplib::Request& req, httplib::Response& res,
                        const std::string& token) {
  HttpAnswer refused;
  if (RequireBearerToken(req.get_header_value("Authorization"), token, refused)) return true;
  Send(refused, res);
  return false;
}

bool IsJsonContentType(const httplib::Request& req) {
  return IsJsonContentType(req.get_header_value("Content-Type"));
}

void Routes::Remember(const std::string& pattern, const std::string& method) {
  for (auto& [path, methods] : paths_) {
    if (path == pattern) {
      methods.push_back(method);
      return;
    }
  }
  paths_.push_back({pattern, {method}});
}

Routes& Routes::Get(const std::string& pattern, httplib::Server::Handler handler) {
  Remember(pattern, "GET");
  server_.Get(pattern, std::move(handler));
  return *this;
}

Routes& Routes::Post(const std::string& pattern, httplib::Server::Handler handler) {
  Remember(pattern, "POST");
  server_.Post(pattern, std::move(handler));
  return *this;
}

Routes& Routes::Delete(const std::string& pattern, httplib::Server::Handler handler) {
  Remember(pattern, "DELETE");
  server_.Delete(pattern, std::move(handler));
  return *this;
}

void Routes::Finish() {
  static const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  for (const auto& [pattern, methods] : paths_) {
    std::string allow;
    for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}) {
      const std::string method = std::string(m) == "HEAD" ? "GET" : m;
      if (std::find(methods.begin(), methods.end(), method) == methods.end()) continue;
      allow += (allow.empty() ? "" : ", ") + std::string(m);
    }
    auto not_allowed = [allow](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allow);
      SendError(res, 405, "method_not_allowed",
                req.method + " is not allowed here; allowed: " + allow);
    };
    for (const char* m : kMethods) {
      if (std::find(methods.begin(), methods.end(), m) != methods.end()) continue;
      const std::string method = m;
      if (method == "GET") server_.Get(pattern, not_allowed);
      if (method == "POST") server_.Post(pattern, not_allowed);
      if (method == "PUT") server_.Put(pattern, not_allowed);
      if (method == "PATCH") server_.Patch(pattern, not_allowed);
      if (method == "DELETE") server_.Delete(pattern, not_allowed);
    }
    server_.Options(pattern, [allow](const httplib::Request&, httplib::Response& res) {
      res.set_header("Allow", allow);
      res.status = 204;
    });
  }
}

void ExclusiveListenSocket(int sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

void ConfigureServer(httplib::Server& server, const HttpServerOptions& options,
                     MetricsRegistry& metrics, const Clock& clock) {
  server.set_tcp_nodelay(true);
  server.set_read_timeout(options.read_timeout_ms / 1000, (options.read_timeout_ms % 1000) * 1000);
  server.set_write_timeout(options.write_timeout_ms / 1000,
                           (options.write_timeout_ms % 1000) * 1000);
  server.set_keep_alive_timeout(options.keep_alive_timeout_s);
  server.set_keep_alive_max_count(options.keep_alive_max_requests);
  server.set_payload_max_length(options.max_body_bytes);
  // The listening socket's options are set before bind: the moment to learn which socket it is.
  auto reaper = std::make_shared<SlowRequestReaper>(options.request_timeout_ms, metrics, clock);
  server.set_socket_options([reaper](socket_t sock) {
    ExclusiveListenSocket(sock);
    reaper->Watch(sock);
  });
  server.new_task_queue = ElasticThreadPoolFactory(
      {.min_threads = static_cast<size_t>(options.threads),
       .max_threads = static_cast<size_t>(std::max(options.threads, options.max_threads))},
      metrics, clock);
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                   httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string_view code = ErrorCodeFor(res.status);
    // A 400 httplib answers itself: a request line or headers it could not read (garbage, a
    // header line over its limit), or a POST with neither a body length nor chunks.
    const bool bodiless_post = req.method == "POST" && !req.has_header("Content-Length") &&
                               !req.has_header("Transfer-Encoding") && !req.headers.empty();
    std::string message = res.status == 413   ? "request body is too large"
                          : res.status == 404 ? "no such endpoint"
                          : res.status == 400
                              ? (bodiless_post ? "malformed HTTP request: a POST needs a body or "
                                                 "Content-Length: 0"
                                               : "malformed HTTP request: the request line or the "
                                                 "headers cannot be read (a header line is at "
                                                 "most 8 KiB)")
                              : std::string(code);
    SendError(res, res.status, code, message);
    // A malformed request leaves the stream in an unknown state: do not wait for another on it.
    if (res.status == 400 || res.status == 413 || res.status == 414)
      res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  }));
  // LOG_LEVEL=debug: one access line per request, with its request id (X-Request-Id of the answer).
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    const RequestIdScope in_request(res.get_header_value(kRequestIdHeader));
    spdlog::debug("http: {} {} -> {}", req.method, req.path.substr(0, 200), res.status);
  });
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: handler for {} {} threw: {}", req.method, req.path, what);
        SendError(res, 500, "internal", "internal error");
      });
}

}  // namespace rl::common

#include <sys/socket.h>

#include <thread>

#include "common/base/signals.h"
#include "common/http/socket_scan.h"

namespace rl::common {

namespace {

// cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
// library), so a burst of new connections gets SYNs dropped and waits for 1 s retransmits. Linux
// lets a second listen() raise it. The socket is the one of this process listening on `port`.
void RaiseListenBacklog(int port) {
  bool raised = false;
  for (int fd : OwnSockets()) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening &&
        LocalPort(fd) == port && listen(fd, SOMAXCONN) == 0) {
      raised = true;
    }
  }
  if (!raised) spdlog::warn("http: could not raise the listen backlog of port {}", port);
}

}  // namespace

bool ServeUntilSignal(httplib::Server& server, const std::string& host, int port,
                      const std::string& banner, const std::function<void()>& on_hangup) {
  int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    spdlog::error(
        "cannot listen on {}:{}: the address is in use by another process, or cannot be "
        "bound",
        host, port);
    return false;
  }
  RaiseListenBacklog(bound);
  std::thread http_thread([&server] { server.listen_after_bind(); });
  spdlog::info("listening on {}:{} ({})", host, bound, banner);
  int sig = WaitForTerminationSignal(on_hangup);
  spdlog::info("signal {} received: stopping", sig);
  server.stop();
  http_thread.join();
  return true;
}

}  // namespace rl::common
