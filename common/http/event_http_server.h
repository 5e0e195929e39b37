#pragma once
// An HTTP server on event loops (libevent's evhttp, on common/loop/event_loops.h): each loop owns
// its connections and whatever its routes need (a Redis connection of its own), no thread per
// connection and no blocking call on a loop. The routes are a RouteTable
// (common/http/http_exchange.h); a handler may answer later, from its loop (AsyncHttpHandler).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/status.h"
#include "common/http/http_exchange.h"
#include "common/http/http_options.h"
#include "common/loop/event_loops.h"

struct bufferevent;
struct event_base;

namespace rl::common {

struct EventHttpOptions {
  size_t max_header_bytes = 16 * 1024;  // a request's headers, all together (else 400)
  size_t max_body_bytes = 64 * 1024;    // a Content-Length above it: 413, the body never read
  // A connection silent this long is closed, between requests (idle keep-alive) or within one.
  int timeout_ms = 5000;
  // Connections open at once, on all loops together: one more is answered 503 (JSON) and closed
  // at once, counted in rl_http_connections_refused_total, with a warn log. Lowered to what the
  // process's file descriptor limit (ulimit -n) leaves, with a warn log, should that be less.
  int max_connections = 10000;
  // A keep-alive connection is closed after this many requests (its last answer says
  // "Connection: close"), so that long-lived clients are spread over the loops again.
  int keep_alive_max_requests = 10000;
  MetricsRegistry* metrics = nullptr;  // optional: connections accepted, open and refused

  // The shared HTTP_* settings: timeout_ms is the shorter of HTTP_READ_TIMEOUT_MS and
  // HTTP_KEEPALIVE_TIMEOUT_S (evhttp has one timeout for both).
  static EventHttpOptions From(const HttpServerOptions& http, size_t max_body_bytes,
                               MetricsRegistry* metrics);
};

// The listening socket is one, bound without SO_REUSEPORT: the port is this process's alone (a
// second process binding it fails), and every loop accepts from it, in turn: a loop that has
// accepted more connections than another stops accepting until the others catch up, so that
// keep-alive connections arriving together are spread over every loop (libevent's listener would
// take them all on the first loop to wake). Each loop's routes come from
// `routes_for(loop index, the loop's event_base)`, called by Start, before the loops run (Start
// comes before EventLoops::Start), so what they hold (its store connection) belongs to that loop.
// Answers are sent from the loop that read the request; a client gone before its answer is simply
// not answered. Destroyed after the loops have stopped, before they are freed.
class EventHttpServer {
 public:
  using RoutesFor = std::function<RouteTable(int loop, event_base* base)>;

  EventHttpServer(EventLoops& loops, EventHttpOptions options, RoutesFor routes_for);
  // Closes its connections and its socket.
  ~EventHttpServer();
  EventHttpServer(const EventHttpServer&) = delete;
  EventHttpServer& operator=(const EventHttpServer&) = delete;

  // Binds host:port (0: any free port) and puts the server on every loop; the bound port.
  Result<int> Start(const std::string& host, int port);
  // The listening socket (after Start), for a SlowRequestReaper to watch its connections.
  int listen_fd() const { return listen_fd_; }

 private:
  struct Loop;
  // On `loop`'s thread, after it accepted a connection: it stops accepting if it is ahead of
  // another loop, and the loops now behind it are told to take the next ones.
  void Balance(Loop& loop);
  // On `loop`'s thread: accepting again unless it is ahead of another loop.
  void ResumeIfBehind(Loop& loop);
  uint64_t LeastAccepted() const;
  // On `loop`'s thread, just after evhttp made the connection of `accepted` (before any of its
  // bytes is read): counted while it is open, or answered 503 and closed if max_connections are.
  void Adopt(Loop& loop, bufferevent* accepted);
  // Counts and logs a refused connection, and writes it the 503 before it is closed.
  void Refuse(bufferevent* accepted);
  // `max_connections`, or less (with a warn log) if the file descriptor limit leaves less.
  static int WithinFileLimit(int max_connections, int port);

  EventLoops& event_loops_;
  const EventHttpOptions options_;
  const RoutesFor routes_for_;
  int listen_fd_ = -1;
  int max_connections_ = 0;          // options_.max_connections within the fd limit (Start)
  std::atomic<int> open_{0};         // connections open, on all loops
  Counter* refused_metric_ = nullptr;
  SystemClock clock_;
  LogThrottle refused_log_{clock_};
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace rl::common
