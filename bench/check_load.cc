// Closed-loop load generator for POST /check: C keep-alive connections, each sending its next
// request when the previous answer arrives, for D seconds. Prints throughput, latency
// percentiles and the answer mix. Asserts nothing; run it through bench/run.
//
//   check_load --port 8080 [--host 127.0.0.1] [--connections 16] [--seconds 10] [--users 10000]
//              [--path /check]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int connections = 16;
  int seconds = 10;
  int users = 10000;
  std::string path = "/check";
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = std::stoi(v);
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--seconds")
      o.seconds = std::stoi(v);
    else if (k == "--users")
      o.users = std::stoi(v);
    else if (k == "--path")
      o.path = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::mutex mu;
  std::vector<double> latencies_us;
  std::map<int, uint64_t> statuses;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(o.seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(o.host, o.port);
      client.set_tcp_nodelay(true);
      client.set_keep_alive(true);
      std::mt19937 rng(c);
      std::vector<double> mine;
      std::map<int, uint64_t> my_statuses;
      while (std::chrono::steady_clock::now() < end) {
        std::string body = "{\"user_id\":\"bench-" + std::to_string(rng() % o.users) + "\"}";
        auto t0 = std::chrono::steady_clock::now();
        auto res = client.Post(o.path, body, "application/json");
        auto t1 = std::chrono::steady_clock::now();
        mine.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        ++my_statuses[res ? res->status : -1];
      }
      std::lock_guard lock(mu);
      latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
      for (auto [s, n] : my_statuses) statuses[s] += n;
    });
  }
  for (auto& t : threads) t.join();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0
                                : latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))];
  };
  std::printf("%s: %zu requests in %d s over %d connections = %.0f req/s\n", o.path.c_str(),
              latencies_us.size(), o.seconds, o.connections,
              static_cast<double>(latencies_us.size()) / o.seconds);
  std::printf("  latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n", pct(0.5),
              pct(0.9), pct(0.99), pct(0.999), latencies_us.empty() ? 0 : latencies_us.back());
  std::printf("  answers:");
  for (auto [s, n] : statuses) std::printf("  %d x %lu", s, static_cast<unsigned long>(n));
  std::printf("\n");
  return 0;
}
