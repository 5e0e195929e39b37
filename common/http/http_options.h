#pragma once
// The HTTP settings every server of the project shares (HTTP_*), on cpp-httplib
// (common/http/http.h) and on the event loops (common/http/event_http_server.h).

#include <cstddef>

namespace rl::common {

struct HttpServerOptions {
  int threads = 64;        // HTTP_THREADS: threads kept waiting for connections
  int max_threads = 1024;  // HTTP_MAX_THREADS: open connections served at once (one thread each)
  int read_timeout_ms = 5000;      // HTTP_READ_TIMEOUT_MS: a silent client is cut off after this
  int request_timeout_ms = 10000;  // HTTP_REQUEST_TIMEOUT_MS: a request must arrive in this time
  int write_timeout_ms = 5000;     // HTTP_WRITE_TIMEOUT_MS
  int keep_alive_timeout_s = 5;    // HTTP_KEEPALIVE_TIMEOUT_S: idle keep-alive connections close
  int keep_alive_max_requests = 10000;  // HTTP_KEEPALIVE_MAX_REQUESTS per connection
  size_t max_body_bytes = 4096;         // larger bodies get 413
  // HTTP_MAX_CONNECTIONS: connections open at once on an event-loop port; one more is answered
  // 503 and closed (common/http/event_http_server.h).
  int max_connections = 10000;
};

}  // namespace rl::common
