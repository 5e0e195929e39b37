#pragma once
// An HTTP server on event loops (libevent's evhttp, on common/loop/event_loops.h): each loop owns
// its connections and whatever its routes need (a Redis connection of its own), no thread per
// connection and no blocking call on a loop. The routes are a RouteTable
// (common/http/http_exchange.h); a handler may answer later, from its loop (AsyncHttpHandler).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/metrics.h"
#include "common/base/status.h"
#include "common/http/http_exchange.h"
#include "common/loop/event_loops.h"

struct event_base;

namespace rl::common {

struct EventHttpOptions {
  size_t max_header_bytes = 16 * 1024;    // a request's headers, all together (else 400)
  size_t max_body_bytes = 64 * 1024;      // a Content-Length above it: 413, the body never read
  int timeout_s = 5;                      // HTTP_READ_TIMEOUT_MS, rounded up: a silent connection
  MetricsRegistry* metrics = nullptr;     // optional: connections accepted, per loop
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

  EventLoops& event_loops_;
  const EventHttpOptions options_;
  const RoutesFor routes_for_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace rl::common
