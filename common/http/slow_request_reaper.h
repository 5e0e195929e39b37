#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"

namespace rl::common {

// cpp-httplib 0.11's read timeout applies to each read, so a client that trickles a request a
// byte at a time (slowloris) would hold its connection forever. This watchdog gives every request
// a total deadline: twice a second it looks at the server's connections (the sockets of this
// process bound to the listening port) and, with TCP_INFO, finds those that received bytes but
// sent none for `timeout_ms`: a request neither finished by the client nor answered. Those get a
// 408 JSON answer and are shut down (rl_http_requests_timed_out_total, warn log). Idle keep-alive
// connections (nothing received since the last answer) are left to the keep-alive timeout.
class SlowRequestReaper {
 public:
  SlowRequestReaper(int timeout_ms, MetricsRegistry& metrics, const Clock& clock);
  ~SlowRequestReaper();

  // Starts watching the connections of this listening socket (once; later calls are ignored).
  void Watch(int listen_fd);

 private:
  struct Connection {
    uint64_t bytes_received = 0;  // at `since`
    uint64_t bytes_sent = 0;      // changes when an answer is written
    int64_t since_ms = 0;         // accepted, or last answered
  };
  void Loop();
  void Scan(int port);

  const int timeout_ms_;
  const Clock& clock_;
  Counter& timed_out_;
  LogThrottle log_;
  std::map<std::pair<int, std::string>, Connection> connections_;  // by fd and peer
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int listen_fd_ = -1;
  std::thread thread_;
};

}  // namespace rl::common
