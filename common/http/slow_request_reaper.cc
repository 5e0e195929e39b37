#include "common/http/slow_request_reaper.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/http/socket_scan.h"

namespace rl::common {

namespace {

constexpr char kTimeoutAnswer[] =
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: 84\r\n"
    "Connection: close\r\n\r\n"
    R"({"error":{"code":"request_timeout","message":"the request took too long to arrive"}})";

std::string PeerOf(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof(text));
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text, sizeof(text));
  }
  const int port = addr.ss_family == AF_INET
                       ? ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port)
                       : ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return std::string(text) + ":" + std::to_string(port);
}

}  // namespace

SlowRequestReaper::SlowRequestReaper(int timeout_ms, MetricsRegistry& metrics, const Clock& clock)
    : timeout_ms_(timeout_ms),
      clock_(clock),
      timed_out_(metrics.AddCounter(
          "rl_http_requests_timed_out_total",
          "Requests not received within HTTP_REQUEST_TIMEOUT_MS: answered 408 and closed")),
      log_(clock, 10000) {}

SlowRequestReaper::~SlowRequestReaper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SlowRequestReaper::Watch(int listen_fd) {
  std::lock_guard lock(mu_);
  if (listen_fd_ >= 0) return;
  listen_fd_ = listen_fd;
  thread_ = std::thread([this] { Loop(); });
}

void SlowRequestReaper::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
    const int port = LocalPort(listen_fd_);
    if (port > 0) Scan(port);
  }
}

void SlowRequestReaper::Scan(int port) {
  const int64_t now_ms = clock_.MonotonicUs() / 1000;
  std::map<std::pair<int, std::string>, Connection> seen;
  for (int fd : OwnSockets()) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    if (fd == listen_fd_ || LocalPort(fd) != port ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;  // not one of the server's connections
    }
    tcp_info info{};
    socklen_t info_len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len) != 0) continue;
    auto key = std::make_pair(fd, PeerOf(peer));
    auto known = connections_.find(key);
    Connection c = known == connections_.end()
                       ? Connection{info.tcpi_bytes_received, info.tcpi_bytes_sent, now_ms}
                       : known->second;
    if (info.tcpi_bytes_sent != c.bytes_sent) {  // answered: the next request starts now
      c = {info.tcpi_bytes_received, info.tcpi_bytes_sent, now_ms};
    }
    const bool receiving = info.tcpi_bytes_received != c.bytes_received;
    if (receiving && now_ms - c.since_ms > timeout_ms_) {
      send(fd, kTimeoutAnswer, sizeof(kTimeoutAnswer) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      shutdown(fd, SHUT_RDWR);  // httplib's read fails and it closes the socket
      timed_out_.Inc();
      uint64_t suppressed = 0;
      if (log_.ShouldLog(&suppressed)) {
        spdlog::warn(
            "http: request from {} not complete after HTTP_REQUEST_TIMEOUT_MS={}: "
            "answered 408 and closed ({} more not logged)",
            key.second, timeout_ms_, suppressed);
      }
      continue;
    }
    seen.emplace(std::move(key), c);
  }
  connections_ = std::move(seen);
}

}  // namespace rl::common
