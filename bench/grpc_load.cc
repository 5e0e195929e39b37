// A closed-loop load generator for Envoy's rate limit service over gRPC (ShouldRateLimit), cheap
// enough not to be the bottleneck: grpc++'s callback API, no thread per call, each of
// `connections` channels its own HTTP/2 connection with `in-flight` calls on it at all times.
// Not a test: bench/run prints its figures beside every process's CPU.
//
//   grpc_load [--port 18081] [--connections 16] [--in-flight 1] [--seconds 10] [--users 10000]
//             [--domain bench] [--key remote_address] [--json]
//
// Each call asks for one descriptor, {key: one of `users` values drawn uniformly}, hits 1. The
// JSON has check_load's fields: answers are counted as "200" (OK), "429" (OVER_LIMIT) and "-1"
// (a gRPC error, which is also "errors").
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"

#include "load_stats.h"

namespace {

using rl::bench::CpuSeconds;
using rl::bench::Percentile;

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  int port = 18081;
  int connections = 16;
  int in_flight = 1;
  int seconds = 10;
  int users = 10000;
  std::string domain = "bench";
  std::string key = "remote_address";
  bool json = false;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--json") {
      o.json = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", k.c_str());
      std::exit(2);
    }
    const std::string v = argv[++i];
    if (k == "--port") {
      o.port = std::stoi(v);
    } else if (k == "--connections") {
      o.connections = std::stoi(v);
    } else if (k == "--in-flight") {
      o.in_flight = std::stoi(v);
    } else if (k == "--seconds") {
      o.seconds = std::stoi(v);
    } else if (k == "--users") {
      o.users = std::max(1, std::stoi(v));
    } else if (k == "--domain") {
      o.domain = v;
    } else if (k == "--key") {
      o.key = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return o;
}

// One chain of calls: the next starts when the last is answered, until the end. Its answers are
// called one at a time, so its figures need no lock.
struct Chain {
  RateLimitService::Stub* stub = nullptr;
  const Options* options = nullptr;
  SteadyClock::time_point end;
  std::mt19937_64 random;
  std::vector<double> latencies_us;
  std::map<int, uint64_t> statuses;
  // The call under way.
  std::unique_ptr<grpc::ClientContext> context;
  RateLimitRequest request;
  RateLimitResponse response;
  SteadyClock::time_point sent;
  std::function<void()> finished;  // called once, after the last answer

  void Next() {
    if (SteadyClock::now() >= end) return finished();
    context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    request.mutable_descriptors(0)->mutable_entries(0)->set_value(
        "10." + std::to_string(random() % static_cast<uint64_t>(options->users)));
    response.Clear();
    sent = SteadyClock::now();
    stub->async()->ShouldRateLimit(context.get(), &request, &response, [this](grpc::Status s) {
      latencies_us.push_back(
          std::chrono::duration<double, std::micro>(SteadyClock::now() - sent).count());
      ++statuses[!s.ok() ? -1 : response.overall_code() == RateLimitResponse::OK ? 200 : 429];
      Next();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  // Debian's Abseil keeps a lock-order graph for every Mutex grpc++ takes: not ours to debug.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string target = "127.0.0.1:" + std::to_string(o.port);
  std::vector<std::unique_ptr<RateLimitService::Stub>> stubs;
  for (int c = 0; c < o.connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    args.SetInt("grpc.channel_id", c);                   // never shared with another channel
    stubs.push_back(RateLimitService::NewStub(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  std::mutex mu;
  std::condition_variable all_done;
  int running = o.connections * o.in_flight;
  std::vector<std::unique_ptr<Chain>> chains;
  const double cpu0 = CpuSeconds();
  const auto start = SteadyClock::now();
  for (int c = 0; c < o.connections; ++c) {
    for (int k = 0; k < o.in_flight; ++k) {
      auto chain = std::make_unique<Chain>();
      chain->stub = stubs[c].get();
      chain->options = &o;
      chain->end = start + std::chrono::seconds(o.seconds);
      chain->random.seed(static_cast<uint64_t>(c * 1000 + k + 1));
      chain->request.set_domain(o.domain);
      chain->request.add_descriptors()->add_entries()->set_key(o.key);
      chain->finished = [&] {
        const std::lock_guard lock(mu);
        if (--running == 0) all_done.notify_all();
      };
      chains.push_back(std::move(chain));
    }
  }
  for (auto& chain : chains) chain->Next();
  {
    std::unique_lock lock(mu);
    all_done.wait(lock, [&] { return running == 0; });
  }
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  std::vector<double> latencies_us;
  std::map<int, uint64_t> statuses;
  for (const auto& chain : chains) {
    latencies_us.insert(latencies_us.end(), chain->latencies_us.begin(),
                        chain->latencies_us.end());
    for (auto [s, n] : chain->statuses) statuses[s] += n;
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const double n = static_cast<double>(latencies_us.size());
  const uint64_t errors = statuses.count(-1) ? statuses[-1] : 0;
  const uint64_t over = statuses.count(429) ? statuses[429] : 0;
  if (o.json) {
    std::printf(
        "{\"requests\":%.0f,\"seconds\":%.3f,\"per_second\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
        "\"p999_us\":%.0f,\"max_us\":%.0f,\"non_2xx\":%lu,\"errors\":%lu,\"statuses\":{",
        n, elapsed, n / elapsed, Percentile(latencies_us, 0.5), Percentile(latencies_us, 0.99),
        Percentile(latencies_us, 0.999), latencies_us.empty() ? 0 : latencies_us.back(),
        static_cast<unsigned long>(over), static_cast<unsigned long>(errors));
    bool first = true;
    for (auto [s, count] : statuses) {
      std::printf("%s\"%d\":%lu", first ? "" : ",", s, static_cast<unsigned long>(count));
      first = false;
    }
    std::printf("},\"fail_mode\":0,\"generator_cpu_us_per_request\":%.1f}\n",
                n > 0 ? cpu / n * 1e6 : 0);
    return 0;
  }
  std::printf("ShouldRateLimit: %.0f calls in %.1f s over %d connections x %d = %.0f calls/s\n", n,
              elapsed, o.connections, o.in_flight, n / elapsed);
  std::printf("  latency us: p50 %.0f  p99 %.0f  p99.9 %.0f\n", Percentile(latencies_us, 0.5),
              Percentile(latencies_us, 0.99), Percentile(latencies_us, 0.999));
  std::printf("  OK %lu  OVER_LIMIT %lu  errors %lu\n  generator CPU: %.1f us per call\n",
              static_cast<unsigned long>(statuses[200]), static_cast<unsigned long>(over),
              static_cast<unsigned long>(errors), n > 0 ? cpu / n * 1e6 : 0);
  return 0;
}
