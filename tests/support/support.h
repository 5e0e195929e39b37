#pragma once
// Real servers for integration and fault tests: redis-server, a KRaft Kafka broker (the project's
// scripts/kafka-run) and the project's own binaries, each a child process on free loopback ports,
// killed when its owner goes out of scope (and by the kernel if the test process dies).

#include <httplib.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/redis/redis_client.h"
#include "proto-events/decision.pb.h"

namespace rl::testing {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

// A loopback port that was free a moment ago, outside the kernel's ephemeral range and never
// handed out twice by this process.
int FreePort();
// A fresh directory under the build tree's test-tmp/, named after `prefix`.
std::string MakeTempDir(const std::string& prefix);
// Path of a built binary ("limiter", "gateway", "analytics-worker").
std::string BinaryPath(const std::string& name);
// Path of a built tool ("rlctl": tools/rlctl/rlctl).
std::string ToolPath(const std::string& name);
// Path inside the source tree.
std::string SourcePath(const std::string& relative);

// Envoy-format limits count in windows aligned to their unit, as the reference's do: "3 a minute"
// starts afresh at every full minute. Waits, if need be, until at least 6 s are left before the
// next one, so that a test counting down a per-minute limit never straddles it.
void AwayFromAMinuteBoundary();

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A child process with its output in a log file.
class ChildProcess {
 public:
  // `cwd`: the working directory of the child; empty: the test's own.
  ChildProcess(const std::vector<std::string>& argv, const Env& extra_env, const std::string& log,
               const std::string& cwd = "");
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits for the exit; the exit code (128+signal if killed), or nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  const std::string& log_path() const { return log_; }
  std::string LogTail(size_t bytes = 4000) const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_;
};

// redis-server on a loopback port, no persistence. Restartable on the same port.
class RedisServer {
 public:
  // `cluster_node_timeout_ms` > 0: a Redis Cluster node (joined by RedisClusterNodes).
  explicit RedisServer(int cluster_node_timeout_ms = 0);
  void Start();
  void Kill();    // SIGKILL
  void Pause();   // SIGSTOP: connections open, nothing answered
  void Resume();  // SIGCONT
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // A client for assertions (separate from the code under test).
  common::RedisPool& client() { return *client_; }
  common::RedisValue Must(const std::vector<std::string>& argv);

 private:
  int port_;
  int cluster_node_timeout_ms_;
  int cluster_bus_port_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<common::RedisPool> client_;
};

// A Redis Cluster on loopback: `primaries` primaries with `replicas` replicas each (formed by
// scripts/redis-cluster-form, as scripts/up forms one), every slot assigned and cluster_state ok
// when the constructor
// returns. Small node timeout, so a killed primary's replica takes over within a few seconds.
class RedisClusterNodes {
 public:
  RedisClusterNodes(int primaries, int replicas, int node_timeout_ms = 1000);
  // REDIS_URL for REDIS_MODE=cluster: every node, comma-separated.
  std::string seeds() const;
  size_t size() const { return nodes_.size(); }
  RedisServer& node(size_t i) { return *nodes_[i]; }
  // The node index of the primary serving `slot` right now, as that node's CLUSTER SLOTS says;
  // -1 if none.
  int PrimaryOf(int slot);
  // Waits until every slot is served by a live primary and the cluster says ok.
  bool WaitHealthy(std::chrono::milliseconds timeout, const std::vector<size_t>& dead = {});

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

// A single-node KRaft Kafka broker from scripts/kafka-run: plaintext on bootstrap(), and TLS with
// SASL/PLAIN on secure_bootstrap() for one user.
class KafkaBroker {
 public:
  KafkaBroker();
  void Start();  // waits until the broker answers metadata requests
  void Stop();   // SIGTERM, waits for a clean exit
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string secure_bootstrap() const { return "127.0.0.1:" + std::to_string(secure_port_); }
  // The KAFKA_* settings of a client of secure_bootstrap(), with this password.
  Env SecureClientEnv(const std::string& password) const;
  static constexpr char kSaslUser[] = "rl-test";
  static constexpr char kSaslPassword[] = "broker-pw-7f3a";

 private:
  int port_;
  int controller_port_;
  int secure_port_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

// A KRaft quorum of `nodes` brokers on loopback (each broker and controller, scripts/kafka-run):
// internal topics replicated 3 times, min.insync.replicas 2. Ready when every broker is in the
// metadata.
class KafkaCluster {
 public:
  explicit KafkaCluster(int nodes);
  std::string bootstrap() const;  // every broker, comma-separated
  void Kill(size_t node);         // SIGKILL

 private:
  std::vector<int> ports_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
};

// A broker shared by every test of one test binary: started on first use, killed at exit.
KafkaBroker& SharedKafka();

// Reads decision events from every partition of `topic`, from the beginning, until `expected`
// events arrived or `timeout` passed. Returns what it read.
std::vector<events::v1::Decision> ReadDecisions(const std::string& brokers,
                                                const std::string& topic, size_t expected,
                                                std::chrono::milliseconds timeout);

// The partition count of `topic`, 0 if it does not exist. Asks without creating it.
int TopicPartitions(const std::string& brokers, const std::string& topic);

// Creates `topic` with `partitions` partitions (replication 1) and waits until it is visible.
void CreateTopic(const std::string& brokers, const std::string& topic, int partitions);

// An idempotent test producer (acks=all) that counts what the broker acknowledged. Produce()
// blocks while the local queue is full rather than dropping. Thread-safe.
class EventProducer {
 public:
  EventProducer(const std::string& brokers, const std::string& topic);
  ~EventProducer();
  // partition -1: by key.
  void Produce(const std::string& key, const std::string& value, int partition = -1);
  // Waits until everything produced was acknowledged or failed; false on timeout.
  bool Flush(std::chrono::milliseconds timeout);
  uint64_t acked() const { return acked_.load(); }
  uint64_t failed() const { return failed_.load(); }
  void CountDelivery(bool ok) { (ok ? acked_ : failed_)++; }

 private:
  void* rk_;  // rd_kafka_t
  std::string topic_;
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// A decision event as the limiter would publish it.
events::v1::Decision MakeDecision(const std::string& user_id, bool allowed, int64_t ts_ms,
                                  const std::string& action = "default");

// Every key except the limiter ledger (common/analytics/limiter_ledger.h), which each limiter
// writes on its own: what requests have created. Sorted.
std::vector<std::string> KeysBesidesTheLedger(RedisServer& redis);

// HGET key field as an integer (0 when missing).
int64_t HashInt(RedisServer& redis, const std::string& key, const std::string& field);

// Value of one Prometheus sample line of a service's /metrics, e.g.
// `rl_decisions_total{outcome="allowed"}`; -1 if absent.
double MetricValue(httplib::Client& client, const std::string& sample);

// One of the project's binaries on a free port, started with `env` (plus the port variable) and
// ready once GET /health answers at all.
class ServiceProcess {
 public:
  ServiceProcess(const std::string& binary, const std::string& port_variable, Env env,
                 const std::string& cwd = "");
  int port() const { return port_; }
  const std::string& name() const { return binary_; }
  std::unique_ptr<httplib::Client> Client() const;
  ChildProcess& process() { return *process_; }

 private:
  std::string binary_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

// Brokers where nothing listens.
inline constexpr char kNoBroker[] = "127.0.0.1:1";

// A limiter on `redis` and `brokers`, publishing to `topic` (3 partitions), with a bucket of 5
// tokens refilled at 0.001/s unless `extra` says otherwise.
// `cwd`: its working directory (where relative paths such as the default LIMITS_FILE point).
std::unique_ptr<ServiceProcess> StartLimiter(RedisServer& redis, const std::string& brokers,
                                             const std::string& topic, const Env& extra = {},
                                             const std::string& cwd = "");

// An analytics worker of consumer group `group` on `topic`, writing to `redis`; `extra` overrides.
std::unique_ptr<ServiceProcess> StartWorker(RedisServer& redis, const std::string& brokers,
                                            const std::string& topic, const std::string& group,
                                            const Env& extra = {});

// Several instances, as they run in production: `limiters` limiters and `workers` analytics
// workers behind one gateway, on one Redis, one broker and one topic (3 partitions). For tests of
// whatever a limiter keeps locally (blocked cache, policy, breaker) and of monitoring: change state
// through one instance, look through another. `*_env` add to or override each kind's settings.
struct FleetOptions {
  int limiters = 2;
  int workers = 2;
  Env limiter_env;
  Env worker_env;
  Env gateway_env;
};
class Fleet {
 public:
  Fleet(RedisServer& redis, const std::string& brokers, const std::string& topic,
        FleetOptions options = {});
  ServiceProcess& limiter(size_t i) { return *limiters_.at(i); }
  ServiceProcess& worker(size_t i) { return *workers_.at(i); }
  ServiceProcess& gateway() { return *gateway_; }
  size_t limiters() const { return limiters_.size(); }
  size_t workers() const { return workers_.size(); }
  // Stops (SIGKILL) and forgets limiter or worker i; the others go on.
  void KillLimiter(size_t i);
  void KillWorker(size_t i);

 private:
  std::vector<std::unique_ptr<ServiceProcess>> limiters_;
  std::vector<std::unique_ptr<ServiceProcess>> workers_;
  std::unique_ptr<ServiceProcess> gateway_;
};

// Load on a limiter: `threads` keep-alive clients posting /check bodies made by `body(thread, i)`
// until Stop() (or destruction), or until the limiter stops answering.
class CheckLoad {
 public:
  // `port`: another port of the limiter to load (its event port); 0: its HTTP port.
  CheckLoad(ServiceProcess& limiter, int threads, std::function<std::string(int, int)> body,
            int port = 0);
  ~CheckLoad();
  int answered() const { return answered_.load(); }  // 200 answers so far
  void Stop();

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::vector<std::thread> threads_;
};

// A deterministic stream of decision events: event i is for user "user-<i % users>" and is
// blocked when i % 3 == 0. ProduceStream spreads `count` events evenly over `duration`, adding
// each to `progress` once handed to the producer.
struct StreamShape {
  int count = 0;
  int users = 100;
  std::chrono::milliseconds duration{5000};
};
void ProduceStream(EventProducer& producer, const StreamShape& shape, std::atomic<int>& progress);
// Checks the analytics in `redis` hold exactly the stream: global and per-user totals,
// allowed and blocked.
void ExpectExactlyTheStream(RedisServer& redis, const StreamShape& shape);

// Sends raw bytes to 127.0.0.1:port and reads until the server closes or `timeout` passes.
// *closed tells which happened.
// A TCP connection to 127.0.0.1:port, or -1.
int ConnectLoopback(int port);

std::string RawHttp(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                    bool* closed = nullptr);

// Resident memory of a process, in KiB.
int64_t RssKib(pid_t pid);

// POST /check with a JSON body.
httplib::Result PostCheck(httplib::Client& client, const std::string& body);

// /check answers counted from several threads: 200, 429, and anything else (no answer included).
struct AnswerTally {
  std::atomic<int> allowed{0}, blocked{0}, other{0};
  void Count(const httplib::Result& res) {
    if (res && res->status == 200) {
      ++allowed;
    } else if (res && res->status == 429) {
      ++blocked;
    } else {
      ++other;
    }
  }
};

// The "outcome" of a /check answer, or "no answer".
std::string Outcome(const httplib::Result& res);
// The answer's body as JSON (discarded, i.e. is_discarded(), when it is not JSON).
nlohmann::json Body(const httplib::Result& res);

}  // namespace rl::testing
