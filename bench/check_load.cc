// Closed-loop load generator for POST /check: C keep-alive connections, each sending its next
// request when the previous answer arrives, for D seconds, all on one thread with epoll (a thread
// per blocking connection cost as much CPU per request as the server under test). Prints
// throughput, latency percentiles, the answer mix and its own CPU time per request (so that its
// cost can be taken out of the machine's budget). Asserts nothing; run it through bench/run.
//
//   check_load --port 8080 [--host 127.0.0.1] [--connections 16] [--seconds 10]
//              [--users 10000] [--zipf 0]          users drawn uniformly, or Zipf(s) by rank
//              [--user-prefix bench-] [--action default] [--path /check]
//              [--alt-action A --alt-share F]      a share F of the requests use action A
//              [--batch K]                         POST /check/batch of K checks per request
//              [--lag-port 0]                      gateway port: sample analytics lag meanwhile
//              [--rate R]                          a fixed offered load of R requests/s in all
//                                                  (each connection on its own schedule;
//                                                  latency from the scheduled time, so a late
//                                                  answer counts its wait): 0, closed loop
//              [--json]                            one JSON object instead of text
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "load_stats.h"

namespace {

using rl::bench::CpuSeconds;
using rl::bench::Percentile;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int connections = 16;
  int seconds = 10;
  int users = 10000;
  double zipf = 0;  // 0: uniform
  std::string user_prefix = "bench-";
  std::string action = "default";
  std::string alt_action;
  double alt_share = 0;
  std::string path = "/check";
  int lag_port = 0;
  int batch = 0;  // 0: single checks
  double rate = 0;  // requests/s offered in all; 0: closed loop
  bool json = false;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--json") {
      o.json = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", k.c_str());
      std::exit(2);
    }
    std::string v = argv[++i];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = std::atoi(v.c_str());
    else if (k == "--connections")
      o.connections = std::atoi(v.c_str());
    else if (k == "--seconds")
      o.seconds = std::atoi(v.c_str());
    else if (k == "--users")
      o.users = std::max(1, std::atoi(v.c_str()));
    else if (k == "--zipf")
      o.zipf = std::atof(v.c_str());
    else if (k == "--user-prefix")
      o.user_prefix = v;
    else if (k == "--action")
      o.action = v;
    else if (k == "--alt-action")
      o.alt_action = v;
    else if (k == "--alt-share")
      o.alt_share = std::atof(v.c_str());
    else if (k == "--path")
      o.path = v;
    else if (k == "--lag-port")
      o.lag_port = std::atoi(v.c_str());
    else if (k == "--batch")
      o.batch = std::atoi(v.c_str());
    else if (k == "--rate")
      o.rate = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return o;
}

// Draws user ranks 0..n-1: uniformly, or with probability proportional to 1 / (rank + 1)^s.
class UserDraw {
 public:
  UserDraw(int n, double s) : n_(n) {
    if (s <= 0) return;
    cdf_.resize(n);
    double sum = 0;
    for (int r = 0; r < n; ++r) cdf_[r] = (sum += 1.0 / std::pow(r + 1.0, s));
    for (double& c : cdf_) c /= sum;
  }
  int operator()(std::mt19937_64& rng) const {
    if (cdf_.empty()) return static_cast<int>(rng() % n_);
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  int n_;
  std::vector<double> cdf_;
};

// Analytics lag: a decision for a fresh user every 200 ms, then the time until the gateway's
// /analytics/<user> counts it (polled every 5 ms, at most 10 s).
std::vector<double> SampleLag(const Options& o, std::chrono::steady_clock::time_point end) {
  std::vector<double> lags_ms;
  httplib::Client check(o.host, o.port), analytics(o.host, o.lag_port);
  check.set_tcp_nodelay(true);
  analytics.set_tcp_nodelay(true);
  for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
    const std::string user = "lagprobe-" + std::to_string(::getpid()) + "-" + std::to_string(i);
    const auto t0 = std::chrono::steady_clock::now();
    if (!check.Post("/check", "{\"user_id\":\"" + user + "\"}", "application/json")) continue;
    while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
      auto res = analytics.Get("/analytics/" + user);
      if (res && res->body.find("\"total\":1") != std::string::npos) {
        lags_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::sort(lags_ms.begin(), lags_ms.end());
  return lags_ms;
}

// One closed-loop keep-alive HTTP/1.1 connection, driven by the event loop below.
struct Connection {
  int fd = -1;
  std::string out;  // the request being sent
  size_t sent = 0;
  std::string in;  // what arrived of the answer
  std::chrono::steady_clock::time_point t0;
  std::mt19937_64 rng;
  bool watching_out = false;  // registered for EPOLLOUT (a request partly sent)
  // --rate: when the next request is due, and whether the connection waits for that time.
  std::chrono::steady_clock::time_point due;
  bool waiting = false;
};

int Connect(const Options& o) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// The length of a complete answer at the start of `in` (head and body), or 0 if incomplete;
// *status gets its status code, *closing whether the server closes the connection after it.
size_t CompleteAnswer(const std::string& in, int* status, bool* closing) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  *status = in.size() > 12 ? std::atoi(in.c_str() + 9) : -1;  // "HTTP/1.1 200"
  size_t length = 0;
  for (size_t at = in.find("\r\n"); at < head_end; at = in.find("\r\n", at + 2)) {
    if (strncasecmp(in.c_str() + at + 2, "Content-Length:", 15) == 0) {
      length = std::strtoul(in.c_str() + at + 17, nullptr, 10);
    } else if (strncasecmp(in.c_str() + at + 2, "Connection: close", 17) == 0) {
      *closing = true;
    }
  }
  const size_t total = head_end + 4 + length;
  return in.size() >= total ? total : 0;
}

// All connections on one thread with epoll: each sends its next request as soon as its answer
// has arrived, until `end`. Far cheaper per request than a thread per blocking connection.
void RunConnections(const Options& o, const UserDraw& draw,
                    std::chrono::steady_clock::time_point end, std::vector<double>* latencies_us,
                    std::map<int, uint64_t>* statuses, uint64_t* fail_mode) {
  const std::string head = "{\"user_id\":\"" + o.user_prefix;
  const std::string tail = "\",\"action\":\"" + o.action + "\"}";
  const std::string alt_tail = "\",\"action\":\"" + o.alt_action + "\"}";
  const std::string path = o.batch > 0 ? "/check/batch" : o.path;
  std::uniform_real_distribution<double> share(0, 1);
  auto next_request = [&](Connection& c) {
    auto one_check = [&] {
      const bool alt = o.alt_share > 0 && share(c.rng) < o.alt_share;
      return head + std::to_string(draw(c.rng)) + (alt ? alt_tail : tail);
    };
    std::string body;
    if (o.batch > 0) {
      body = "{\"checks\":[";
      for (int i = 0; i < o.batch; ++i) body += (i ? "," : "") + one_check();
      body += "]}";
    } else {
      body = one_check();
    }
    c.out = "POST " + path + " HTTP/1.1\r\nHost: " + o.host +
            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body;
    c.sent = 0;
    c.t0 = std::chrono::steady_clock::now();
  };
  const int ep = epoll_create1(0);
  std::vector<Connection> conns(static_cast<size_t>(o.connections));
  // Watches for the answer, and for room to write only while a request is partly sent.
  auto watch = [&](size_t i, int op) {
    Connection& c = conns[i];
    c.watching_out = c.sent < c.out.size();
    epoll_event ev{};
    ev.events = EPOLLIN | (c.watching_out ? EPOLLOUT : 0);
    ev.data.u64 = i;
    epoll_ctl(ep, op, c.fd, &ev);
  };
  // Sends what is left of the connection's request; false if the connection failed.
  auto push = [&](size_t i) {
    Connection& c = conns[i];
    const ssize_t w = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) return false;
    if (w > 0) c.sent += static_cast<size_t>(w);
    if ((c.sent < c.out.size()) != c.watching_out) watch(i, EPOLL_CTL_MOD);
    return true;
  };
  // --rate: each connection sends every `period`, the connections evenly staggered.
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(o.rate > 0 ? o.connections / o.rate : 0));
  const auto start = std::chrono::steady_clock::now();
  auto open = [&](size_t i) {
    Connection& c = conns[i];
    c.fd = Connect(o);
    c.in.clear();
    if (c.fd < 0) return false;
    if (o.rate > 0) {  // registered for answers only; send_due sends when the time comes
      c.out.clear();
      c.sent = 0;
      watch(i, EPOLL_CTL_ADD);
      c.waiting = true;
      return true;
    }
    next_request(c);
    c.sent = c.out.size();  // registered for answers only; push() watches for room if needed
    watch(i, EPOLL_CTL_ADD);
    c.sent = 0;
    return push(i);
  };
  auto fail = [&](size_t i) {  // no answer: count it, reconnect, go on
    Connection& c = conns[i];
    ++(*statuses)[-1];
    close(c.fd);
    c.fd = -1;
    if (std::chrono::steady_clock::now() < end) open(i);
  };
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].rng.seed(i + 1);
    conns[i].due = start + period * static_cast<int64_t>(i) / o.connections;
    if (!open(i)) ++(*statuses)[-1];
  }
  // --rate: a timer (nanoseconds, unlike epoll's timeout) wakes the loop when a request is due.
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  const uint64_t kTimer = conns.size();  // its epoll tag
  if (o.rate > 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimer;
    epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev);
  }
  // --rate: sends the requests that are due and sets the timer for the next one.
  auto send_due = [&] {
    const auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::milliseconds(100);
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      if (!c.waiting || c.fd < 0) continue;
      if (c.due > now) {
        next = std::min(next, c.due);
        continue;
      }
      c.waiting = false;
      next_request(c);
      c.t0 = c.due;  // latency from when it was due, however late it went out
      if (!push(i)) fail(i);
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        next.time_since_epoch()).count();  // steady_clock: CLOCK_MONOTONIC
    itimerspec at{};
    at.it_value.tv_sec = ns / 1'000'000'000;
    at.it_value.tv_nsec = ns % 1'000'000'000;
    timerfd_settime(timer, TFD_TIMER_ABSTIME, &at, nullptr);
  };
  std::vector<epoll_event> events(conns.size() + 1);
  char buffer[65536];
  while (std::chrono::steady_clock::now() < end) {
    if (o.rate > 0) send_due();
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      if (i == kTimer) {
        uint64_t expirations = 0;
        (void)!read(timer, &expirations, sizeof(expirations));
        continue;
      }
      Connection& c = conns[i];
      if (c.fd < 0) continue;
      if ((events[e].events & EPOLLOUT) && c.sent < c.out.size() && !push(i)) {
        fail(i);
        continue;
      }
      if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      const ssize_t r = recv(c.fd, buffer, sizeof(buffer), 0);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        fail(i);
        continue;
      }
      if (r > 0) c.in.append(buffer, static_cast<size_t>(r));
      int status = -1;
      bool closing = false;
      const size_t length = CompleteAnswer(c.in, &status, &closing);
      if (length == 0) continue;
      latencies_us->push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - c.t0)
              .count());
      ++(*statuses)[status];
      // Answers Redis did not decide (fail mode), per check: a batch holds several.
      const std::string_view body(c.in.data(), length);
      for (size_t at = 0; (at = body.find("\"outcome\":\"fail_", at)) != std::string::npos; ++at) {
        ++*fail_mode;
      }
      c.in.erase(0, length);
      if (o.rate > 0) c.due += period;  // the next one when it is due (at once if already late)
      if (closing) {  // the server ends this keep-alive connection: a fresh one goes on
        close(c.fd);
        if (!open(i)) fail(i);
        continue;
      }
      if (o.rate > 0) {
        c.waiting = true;
        continue;
      }
      next_request(c);
      if (!push(i)) fail(i);
    }
  }
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  close(timer);
  close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const UserDraw draw(o.users, o.zipf);
  std::vector<double> latencies_us;
  std::map<int, uint64_t> statuses;
  uint64_t fail_mode = 0;  // checks answered fail_open or fail_closed
  const double cpu0 = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(o.seconds);
  std::vector<double> lags_ms;
  std::thread lag;
  if (o.lag_port > 0) lag = std::thread([&] { lags_ms = SampleLag(o, end); });
  RunConnections(o, draw, end, &latencies_us, &statuses, &fail_mode);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (lag.joinable()) lag.join();
  const double cpu = CpuSeconds() - cpu0;
  std::sort(latencies_us.begin(), latencies_us.end());
  const size_t n = latencies_us.size();
  uint64_t errors = 0;  // answers outside 2xx
  for (auto [s, count] : statuses) {
    if (s > 0 && (s < 200 || s >= 300)) errors += count;
  }
  const uint64_t failed = statuses.count(-1) ? statuses[-1] : 0;  // no answer at all
  // A batch request carries several decisions: rates and CPU are per decision.
  const double decisions = static_cast<double>(n) * std::max(1, o.batch);
  const double cpu_us_per_request = n ? cpu / decisions * 1e6 : 0;
  if (o.json) {
    std::printf(
        "{\"requests\":%.0f,\"seconds\":%.3f,\"per_second\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
        "\"p999_us\":%.0f,\"max_us\":%.0f,\"non_2xx\":%lu,\"errors\":%lu,\"statuses\":{",
        decisions, elapsed, decisions / elapsed, Percentile(latencies_us, 0.5),
        Percentile(latencies_us, 0.99), Percentile(latencies_us, 0.999),
        n ? latencies_us.back() : 0, static_cast<unsigned long>(errors),
        static_cast<unsigned long>(failed));
    bool first = true;
    for (auto [s, count] : statuses) {
      std::printf("%s\"%d\":%lu", first ? "" : ",", s, static_cast<unsigned long>(count));
      first = false;
    }
    std::printf("},\"fail_mode\":%lu,\"generator_cpu_us_per_request\":%.1f",
                static_cast<unsigned long>(fail_mode), cpu_us_per_request);
    if (o.lag_port > 0) {
      std::printf(",\"lag_samples\":%zu,\"lag_p50_ms\":%.1f,\"lag_p99_ms\":%.1f", lags_ms.size(),
                  Percentile(lags_ms, 0.5), Percentile(lags_ms, 0.99));
    }
    std::printf("}\n");
    return 0;
  }
  std::printf("%s: %.0f decisions in %.1f s over %d connections = %.0f decisions/s\n",
              o.path.c_str(), decisions, elapsed, o.connections, decisions / elapsed);
  std::printf("  latency us: p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
              Percentile(latencies_us, 0.5), Percentile(latencies_us, 0.99),
              Percentile(latencies_us, 0.999), n ? latencies_us.back() : 0);
  std::printf("  answers:");
  for (auto [s, count] : statuses) std::printf("  %d x %lu", s, static_cast<unsigned long>(count));
  std::printf("\n  fail-mode answers: %lu\n  generator CPU: %.1f us per request\n",
              static_cast<unsigned long>(fail_mode), cpu_us_per_request);
  if (o.lag_port > 0) {
    std::printf("  analytics lag: %zu samples, p50 %.1f ms, p99 %.1f ms\n", lags_ms.size(),
                Percentile(lags_ms, 0.5), Percentile(lags_ms, 0.99));
  }
  return 0;
}
