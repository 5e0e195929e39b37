#include "tests/support/support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/analytics/limiter_ledger.h"
#include "proto-events/event_codec.h"

extern char** environ;

namespace rl::testing {

namespace fs = std::filesystem;

namespace {

// The kernel's range for outgoing connections' local ports (ip_local_port_range).
std::pair<int, int> EphemeralPorts() {
  int low = 32768, high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  return {low, high};
}

bool CanBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

// Ports come from outside the kernel's ephemeral range, never twice in one process: a server
// restarted on its port (a broker after an outage) must not find it taken by some client's
// outgoing connection, which draws its local port from the ephemeral range (seen in CI: "Address
// already in use" on a Kafka restart while other tests ran).
int FreePort() {
  static std::mutex mu;
  static std::set<int> handed_out;
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  const auto [ephemeral_low, ephemeral_high] = EphemeralPorts();
  // The widest stretch outside the ephemeral range, above the well-known ports.
  int low = 10000, high = ephemeral_low - 1;
  if (ephemeral_high < 65000 && 65535 - ephemeral_high > high - low) {
    low = ephemeral_high + 1;
    high = 65535;
  }
  std::lock_guard lock(mu);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = low + static_cast<int>(rng() % static_cast<unsigned>(high - low + 1));
    if (handed_out.count(port) || !CanBind(port)) continue;
    handed_out.insert(port);
    return port;
  }
  throw std::runtime_error("FreePort: no free port outside the ephemeral range");
}

void AwayFromAMinuteBoundary() {
  const auto into_minute =
      std::chrono::system_clock::now().time_since_epoch() % std::chrono::minutes(1);
  if (into_minute > std::chrono::seconds(54)) {
    std::this_thread::sleep_for(std::chrono::minutes(1) - into_minute +
                                std::chrono::milliseconds(200));
  }
}

std::string MakeTempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  fs::path dir =
      fs::path(RL_TEST_TMP_DIR) / (prefix + "-" + std::to_string(getpid()) + "-" +
                                   std::to_string(counter++) + "-" + std::to_string(rd() % 100000));
  fs::create_directories(dir);
  return dir.string();
}

std::string BinaryPath(const std::string& name) {
  return std::string(RL_BINARY_DIR) + "/" + name + "/" + name;
}

std::string ToolPath(const std::string& name) {
  return std::string(RL_BINARY_DIR) + "/tools/" + name + "/" + name;
}

std::string SourcePath(const std::string& relative) {
  return std::string(RL_SOURCE_DIR) + "/" + relative;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const Env& extra_env,
                           const std::string& log, const std::string& cwd)
    : log_(log) {
  Env env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Tests must not pick up a developer's .env from the working directory.
  env["ENV_FILE"] = "/dev/null";
  for (const auto& [k, v] : extra_env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    Signal(SIGKILL);
    WaitExit(10s);
  }
}

bool ChildProcess::Running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

void ChildProcess::Signal(int sig) {
  if (!exit_code_) kill(pid_, sig);
}

std::optional<int> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  Eventually([this] { return !Running(); }, timeout);
  return exit_code_;
}

std::string ChildProcess::LogTail(size_t bytes) const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

RedisServer::RedisServer(int cluster_node_timeout_ms)
    : port_(FreePort()),
      cluster_node_timeout_ms_(cluster_node_timeout_ms),
      cluster_bus_port_(cluster_node_timeout_ms > 0 ? FreePort() : 0),
      dir_(MakeTempDir("redis")) {
  client_ = std::make_unique<common::RedisPool>(common::RedisPoolOptions{
      .endpoint = {.host = "127.0.0.1", .port = port_}, .timeout_ms = 2000});
  Start();
}

void RedisServer::Start() {
  std::vector<std::string> argv = {"/usr/bin/redis-server", "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", dir_,
                                   // DEBUG SLEEP and DEBUG POPULATE make faults on demand
                                   "--enable-debug-command", "local"};
  if (cluster_node_timeout_ms_ > 0) {
    for (const std::string& a :
         {std::string("--cluster-enabled"), std::string("yes"),
          std::string("--cluster-config-file"), dir_ + "/nodes.conf",
          std::string("--cluster-node-timeout"), std::to_string(cluster_node_timeout_ms_),
          // Slots of live primaries keep serving while another primary's slots fail over.
          std::string("--cluster-require-full-coverage"), std::string("no"),
          // The bus port explicitly: the default (port + 10000) fails for ports above 55535.
          std::string("--cluster-port"), std::to_string(cluster_bus_port_),
          // A replica's first sync starts at once, not after the default 5 s wait for others.
          std::string("--repl-diskless-sync-delay"), std::string("0")}) {
      argv.push_back(a);
    }
  }
  process_ = std::make_unique<ChildProcess>(argv, Env{}, dir_ + "/redis.log");
  bool up = Eventually(
      [this] {
        auto r = client_->Command({"PING"});
        return r.ok() && r->str == "PONG";
      },
      10s);
  if (!up) throw std::runtime_error("redis-server did not start: " + process_->LogTail());
}

void RedisServer::Kill() {
  process_->Signal(SIGKILL);
  process_->WaitExit(10s);
}
void RedisServer::Pause() { process_->Signal(SIGSTOP); }
void RedisServer::Resume() { process_->Signal(SIGCONT); }

common::RedisValue RedisServer::Must(const std::vector<std::string>& argv) {
  auto r = client_->Command(argv);
  if (!r.ok()) throw std::runtime_error("redis: " + r.status().message());
  return r.value();
}

RedisClusterNodes::RedisClusterNodes(int primaries, int replicas, int node_timeout_ms) {
  const int count = primaries * (1 + replicas);
  std::string dir = MakeTempDir("redis-cluster");
  // Formed as scripts/up forms the stack's cluster: one script for both.
  std::vector<std::string> form = {SourcePath("scripts/redis-cluster-form"),
                                   std::to_string(replicas)};
  for (int i = 0; i < count; ++i) {
    nodes_.push_back(std::make_unique<RedisServer>(node_timeout_ms));
    form.push_back("127.0.0.1:" + std::to_string(nodes_.back()->port()));
  }
  ChildProcess former(form, Env{{"FORM_WAIT_S", "60"}}, dir + "/form.log");
  auto code = former.WaitExit(90s);
  if (code != 0)
    throw std::runtime_error("scripts/redis-cluster-form failed: " + former.LogTail());
  if (!WaitHealthy(30s)) throw std::runtime_error("the Redis Cluster did not become healthy");
  // A replica can take over only once it has synchronised with its primary.
  bool synced = Eventually(
      [this] {
        for (auto& node : nodes_) {
          auto info = node->client().Command({"INFO", "replication"});
          if (!info.ok()) return false;
          if (info->str.find("role:slave") != std::string::npos &&
              info->str.find("master_link_status:up") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      30s);
  if (!synced) throw std::runtime_error("Redis Cluster replicas did not synchronise");
}

std::string RedisClusterNodes::seeds() const {
  std::string out;
  for (const auto& node : nodes_) out += (out.empty() ? "" : ",") + node->url();
  return out;
}

int RedisClusterNodes::PrimaryOf(int slot) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto reply = nodes_[i]->client().Command({"CLUSTER", "SLOTS"});
    if (!reply.ok()) continue;
    for (const auto& range : reply->elements) {
      if (range.elements.size() < 3) continue;
      if (range.elements[0].integer <= slot && slot <= range.elements[1].integer) {
        const int port = static_cast<int>(range.elements[2].elements[1].integer);
        for (size_t j = 0; j < nodes_.size(); ++j) {
          if (nodes_[j]->port() == port) return static_cast<int>(j);
        }
      }
    }
    return -1;
  }
  return -1;
}

bool RedisClusterNodes::WaitHealthy(std::chrono::milliseconds timeout,
                                    const std::vector<size_t>& dead) {
  return Eventually(
      [&] {
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (std::find(dead.begin(), dead.end(), i) != dead.end()) continue;
          auto info = nodes_[i]->client().Command({"CLUSTER", "INFO"});
          if (!info.ok() || info->str.find("cluster_state:ok") == std::string::npos ||
              info->str.find("cluster_slots_ok:16384") == std::string::npos) {
            return false;
          }
        }
        for (int slot : {0, 5000, 10000, 16383}) {
          int primary = PrimaryOf(slot);
          if (primary < 0 || std::find(dead.begin(), dead.end(), primary) != dead.end()) {
            return false;
          }
        }
        return true;
      },
      timeout);
}

namespace {

// A throwaway librdkafka consumer handle (no group), for metadata and reads.
rd_kafka_t* NewConsumer(const std::string& brokers) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "rl-tests", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(conf, "log_level", "0", err,
                    sizeof(err));  // polling a starting broker is noisy
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  return rk;
}

// Partition count of `topic`, 0 if it does not exist (yet).
int PartitionCount(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int count = 0;
  if (rd_kafka_metadata(rk, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      count = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  return count;
}

}  // namespace

KafkaBroker::KafkaBroker()
    : port_(FreePort()),
      controller_port_(FreePort()),
      secure_port_(FreePort()),
      dir_(MakeTempDir("kafka")) {
  Start();
}

Env KafkaBroker::SecureClientEnv(const std::string& password) const {
  return {{"KAFKA_BROKERS", secure_bootstrap()}, {"KAFKA_SECURITY_PROTOCOL", "SASL_SSL"},
          {"KAFKA_SASL_MECHANISMS", "PLAIN"},    {"KAFKA_SASL_USERNAME", kSaslUser},
          {"KAFKA_SASL_PASSWORD", password},     {"KAFKA_SSL_CA_LOCATION", dir_ + "/tls/ca.pem"}};
}

void KafkaBroker::Start() {
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{SourcePath("scripts/kafka-run"), dir_, std::to_string(port_),
                               std::to_string(controller_port_), "3", std::to_string(secure_port_)},
      Env{{"KAFKA_HEAP_MB", "512"},
          {"KAFKA_SASL_USERNAME", kSaslUser},
          {"KAFKA_SASL_PASSWORD", kSaslPassword}},
      dir_ + "/stdout.log");
  rd_kafka_t* rk = NewConsumer(bootstrap());
  bool up = Eventually(
      [&] {
        const rd_kafka_metadata_t* md = nullptr;
        if (rd_kafka_metadata(rk, 0, nullptr, &md, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          return !process_->Running();  // stop waiting if it died
        }
        bool has_broker = md->broker_cnt > 0;
        rd_kafka_metadata_destroy(md);
        return has_broker;
      },
      90s);
  rd_kafka_destroy(rk);
  if (!up || !process_->Running()) {
    throw std::runtime_error("kafka did not start: " + process_->LogTail() + "\n" + dir_);
  }
}

void KafkaBroker::Stop() {
  process_->Signal(SIGTERM);
  if (!process_->WaitExit(60s)) {
    process_->Signal(SIGKILL);
    process_->WaitExit(10s);
  }
}

KafkaCluster::KafkaCluster(int nodes) {
  std::vector<int> controller_ports;
  std::string voters;
  for (int i = 0; i < nodes; ++i) {
    ports_.push_back(FreePort());
    controller_ports.push_back(FreePort());
    voters += (voters.empty() ? "" : ",") + std::to_string(i + 1) +
              "@127.0.0.1:" + std::to_string(controller_ports.back());
  }
  const std::string cluster_id = "rlTestKafkaQuorum0000A";  // 16 bytes, URL-safe base64
  for (int i = 0; i < nodes; ++i) {
    const std::string dir = MakeTempDir("kafka-node");
    processes_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{SourcePath("scripts/kafka-run"), dir, std::to_string(ports_[i]),
                                 std::to_string(controller_ports[i]), "3"},
        Env{{"KAFKA_HEAP_MB", "512"},
            {"KAFKA_NODE_ID", std::to_string(i + 1)},
            {"KAFKA_VOTERS", voters},
            {"KAFKA_CLUSTER_ID", cluster_id}},
        dir + "/stdout.log"));
  }
  rd_kafka_t* rk = NewConsumer(bootstrap());
  bool up = Eventually(
      [&] {
        const rd_kafka_metadata_t* md = nullptr;
        if (rd_kafka_metadata(rk, 0, nullptr, &md, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          return false;
        }
        const bool all = md->broker_cnt == nodes;
        rd_kafka_metadata_destroy(md);
        return all;
      },
      120s);
  rd_kafka_destroy(rk);
  if (!up) throw std::runtime_error("the Kafka quorum did not start: " + processes_[0]->LogTail());
}

std::string KafkaCluster::bootstrap() const {
  std::string out;
  for (int port : ports_) out += (out.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(port));
  return out;
}

void KafkaCluster::Kill(size_t node) {
  processes_[node]->Signal(SIGKILL);
  processes_[node]->WaitExit(10s);
}

KafkaBroker& SharedKafka() {
  static std::unique_ptr<KafkaBroker> broker = std::make_unique<KafkaBroker>();
  return *broker;
}

std::vector<events::v1::Decision> ReadDecisions(const std::string& brokers,
                                                const std::string& topic, size_t expected,
                                                std::chrono::milliseconds timeout) {
  std::vector<events::v1::Decision> out;
  rd_kafka_t* rk = NewConsumer(brokers);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int partitions = 0;
  Eventually([&] { return (partitions = PartitionCount(rk, topic)) > 0; }, timeout);
  if (partitions > 0) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto d =
            events::DecodeDecision(std::string_view(static_cast<const char*>(m->payload), m->len));
        if (d && std::string_view(static_cast<const char*>(m->key), m->key_len) == d->user_id()) {
          out.push_back(*d);
        }
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

int TopicPartitions(const std::string& brokers, const std::string& topic) {
  rd_kafka_t* rk = NewConsumer(brokers);  // a consumer's metadata request never creates a topic
  const int count = PartitionCount(rk, topic);
  rd_kafka_destroy(rk);
  return count;
}

void CreateTopic(const std::string& brokers, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof(err));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &t, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(t);
  bool visible = Eventually([&] { return PartitionCount(rk, topic) == partitions; }, 30s);
  rd_kafka_destroy(rk);
  if (!visible) throw std::runtime_error("topic " + topic + " was not created");
}

namespace {
extern "C" void TestDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  static_cast<EventProducer*>(opaque)->CountDelivery(m->err == RD_KAFKA_RESP_ERR_NO_ERROR);
}
}  // namespace

EventProducer::EventProducer(const std::string& brokers, const std::string& topic) : topic_(topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (auto [k, v] : std::map<std::string, std::string>{{"bootstrap.servers", brokers},
                                                        {"enable.idempotence", "true"},
                                                        {"acks", "all"},
                                                        {"linger.ms", "5"},
                                                        {"log_level", "3"}}) {
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, TestDelivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) throw std::runtime_error(err);
  rk_ = rk;
  poller_ = std::thread([this] {
    while (!stop_) rd_kafka_poll(static_cast<rd_kafka_t*>(rk_), 50);
  });
}

EventProducer::~EventProducer() {
  stop_ = true;
  poller_.join();
  rd_kafka_destroy(static_cast<rd_kafka_t*>(rk_));
}

void EventProducer::Produce(const std::string& key, const std::string& value, int partition) {
  rd_kafka_resp_err_t err = rd_kafka_producev(
      static_cast<rd_kafka_t*>(rk_), RD_KAFKA_V_TOPIC(topic_.c_str()),
      RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
  }
}

bool EventProducer::Flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(static_cast<rd_kafka_t*>(rk_), static_cast<int>(timeout.count())) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}

events::v1::Decision MakeDecision(const std::string& user_id, bool allowed, int64_t ts_ms,
                                  const std::string& action) {
  static std::atomic<uint64_t> sequence{0};
  events::v1::Decision d;
  d.set_event_id("test-" + std::to_string(++sequence));
  d.set_ts_ms(ts_ms);
  d.set_user_id(user_id);
  d.set_action(action);
  d.set_rule("default");
  d.set_outcome(allowed ? events::v1::OUTCOME_ALLOWED : events::v1::OUTCOME_BLOCKED);
  d.set_allowed(allowed);
  d.set_limit(10);
  d.set_cost(1);
  d.set_limiter_id("test");
  return d;
}

std::vector<std::string> KeysBesidesTheLedger(RedisServer& redis) {
  std::vector<std::string> keys;
  for (const auto& key : redis.Must({"KEYS", "*"}).elements) {
    if (key.str != common::kLimitersKey && key.str.rfind(common::kLimiterLedgerKeyPrefix, 0) != 0) {
      keys.push_back(key.str);
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

int64_t HashInt(RedisServer& redis, const std::string& key, const std::string& field) {
  auto v = redis.Must({"HGET", key, field});
  return v.type == common::RedisValue::Type::kString ? std::stoll(v.str) : 0;
}

double MetricValue(httplib::Client& client, const std::string& sample) {
  auto res = client.Get("/metrics");
  if (!res) return -1;
  size_t at = res->body.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(res->body.substr(at + sample.size() + 2));
}

ServiceProcess::ServiceProcess(const std::string& binary, const std::string& port_variable, Env env,
                               const std::string& cwd)
    : binary_(binary), port_(FreePort()) {
  env[port_variable] = std::to_string(port_);
  // RL_TEST_LOG_LEVEL=debug raises every service a test starts (with KAFKA_DEBUG, librdkafka's
  // own debug contexts): their logs stay in the test's folder under build/test-tmp.
  const char* level = std::getenv("RL_TEST_LOG_LEVEL");
  if (!env.count("LOG_LEVEL")) env["LOG_LEVEL"] = level != nullptr ? level : "info";
  std::string dir = MakeTempDir(binary);
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{BinaryPath(binary)}, env,
                                            dir + "/" + binary + ".log", cwd);
  auto client = Client();
  bool up = Eventually(
      [&] { return static_cast<bool>(client->Get("/health")) || !process_->Running(); }, 30s);
  if (!up || !process_->Running()) {
    throw std::runtime_error(binary + " did not start: " + process_->LogTail());
  }
}

std::unique_ptr<httplib::Client> ServiceProcess::Client() const {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(2);
  client->set_read_timeout(10);
  return client;
}

std::unique_ptr<ServiceProcess> StartLimiter(RedisServer& redis, const std::string& brokers,
                                             const std::string& topic, const Env& extra,
                                             const std::string& cwd) {
  Env env = {{"REDIS_URL", redis.url()}, {"KAFKA_BROKERS", brokers},
             {"KAFKA_TOPIC", topic},     {"KAFKA_PARTITIONS", "3"},
             {"DEFAULT_CAPACITY", "5"},  {"DEFAULT_REFILL_PER_SEC", "0.001"},
             {"HTTP_THREADS", "32"},     {"GRPC_PORT", std::to_string(FreePort())}};
  // With nothing listening at the brokers, do not wait for the topic before serving.
  if (brokers == kNoBroker) env["KAFKA_STARTUP_WAIT_MS"] = "0";
  for (const auto& [k, v] : extra) env[k] = v;
  return std::make_unique<ServiceProcess>("limiter", "LIMITER_PORT", env, cwd);
}

Fleet::Fleet(RedisServer& redis, const std::string& brokers, const std::string& topic,
             FleetOptions options) {
  std::string limiter_urls, worker_urls;
  for (int i = 0; i < options.limiters; ++i) {
    limiters_.push_back(StartLimiter(redis, brokers, topic, options.limiter_env));
    limiter_urls += (i ? "," : "") + std::string("http://127.0.0.1:") +
                    std::to_string(limiters_.back()->port());
  }
  for (int i = 0; i < options.workers; ++i) {
    workers_.push_back(StartWorker(redis, brokers, topic, "g-" + topic, options.worker_env));
    worker_urls +=
        (i ? "," : "") + std::string("http://127.0.0.1:") + std::to_string(workers_.back()->port());
  }
  Env env = {{"LIMITER_URLS", limiter_urls},
             {"WORKER_URLS", worker_urls},
             {"ANALYTICS_REDIS_URL", redis.url()},
             {"KAFKA_BROKERS", brokers},
             {"KAFKA_TOPIC", topic},
             {"KAFKA_PARTITIONS", "3"}};
  for (const auto& [k, v] : options.gateway_env) env[k] = v;
  gateway_ = std::make_unique<ServiceProcess>("gateway", "GATEWAY_PORT", env);
}

void Fleet::KillLimiter(size_t i) {
  limiters_.at(i)->process().Signal(SIGKILL);
  limiters_.at(i)->process().WaitExit(10s);
}

void Fleet::KillWorker(size_t i) {
  workers_.at(i)->process().Signal(SIGKILL);
  workers_.at(i)->process().WaitExit(10s);
}

std::unique_ptr<ServiceProcess> StartWorker(RedisServer& redis, const std::string& brokers,
                                            const std::string& topic, const std::string& group,
                                            const Env& extra) {
  Env env = {{"ANALYTICS_REDIS_URL", redis.url()},
             {"KAFKA_BROKERS", brokers},
             {"KAFKA_TOPIC", topic},
             {"KAFKA_GROUP", group},
             {"ANALYTICS_BATCH_MAX_MS", "100"},
             // The broker's minimum: a killed worker's partitions move on after 6 s.
             {"KAFKA_SESSION_TIMEOUT_MS", "6000"}};
  for (const auto& [k, v] : extra) env[k] = v;
  return std::make_unique<ServiceProcess>("analytics-worker", "WORKER_PORT", env);
}

CheckLoad::CheckLoad(ServiceProcess& limiter, int threads,
                     std::function<std::string(int, int)> body, int port) {
  for (int t = 0; t < threads; ++t) {
    threads_.emplace_back([this, &limiter, body, t, port] {
      auto client = limiter.Client();
      if (port != 0) {
        client = std::make_unique<httplib::Client>("127.0.0.1", port);
        client->set_tcp_nodelay(true);
        client->set_read_timeout(10);
      }
      for (int i = 0; !stop_; ++i) {
        auto res = PostCheck(*client, body(t, i));
        if (!res) break;  // the limiter has stopped listening
        if (res->status == 200) ++answered_;
      }
    });
  }
}

CheckLoad::~CheckLoad() { Stop(); }

void CheckLoad::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void ProduceStream(EventProducer& producer, const StreamShape& shape, std::atomic<int>& progress) {
  common::SystemClock clock;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < shape.count; ++i) {
    const std::string user = "user-" + std::to_string(i % shape.users);
    producer.Produce(user, events::EncodeDecision(MakeDecision(user, i % 3 != 0, clock.NowMs())));
    progress = i + 1;
    if (i % 500 == 499) {  // pace the stream so that faults land in the middle of it
      std::this_thread::sleep_until(start + shape.duration * (i + 1) / shape.count);
    }
  }
}

void ExpectExactlyTheStream(RedisServer& redis, const StreamShape& shape) {
  auto blocked_among = [](int first_index, int count, int step) {
    int blocked = 0;
    for (int i = first_index; i < count; i += step) blocked += (i % 3 == 0);
    return blocked;
  };
  const int total_blocked = blocked_among(0, shape.count, 1);
  EXPECT_EQ(HashInt(redis, "rla:global", "total"), shape.count);
  EXPECT_EQ(HashInt(redis, "rla:global", "blocked"), total_blocked);
  EXPECT_EQ(HashInt(redis, "rla:global", "allowed"), shape.count - total_blocked);
  int wrong_users = 0;
  for (int u = 0; u < shape.users; ++u) {
    const std::string key = "rla:u:{user-" + std::to_string(u) + "}";
    const int total = shape.count / shape.users + (u < shape.count % shape.users ? 1 : 0);
    const int blocked = blocked_among(u, shape.count, shape.users);
    if (HashInt(redis, key, "total") != total || HashInt(redis, key, "blocked") != blocked ||
        HashInt(redis, key, "allowed") != total - blocked) {
      ++wrong_users;
    }
  }
  EXPECT_EQ(wrong_users, 0) << "users whose counts differ from what was produced";
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string RawHttp(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                    bool* closed) {
  std::string out;
  int fd = ConnectLoopback(port);
  if (fd < 0) {
    if (closed) *closed = true;
    return out;
  }
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  timeval tv{0, 50'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      eof = true;
      break;
    }
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (closed) *closed = eof;
  return out;
}

int64_t RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

httplib::Result PostCheck(httplib::Client& client, const std::string& body) {
  return client.Post("/check", body, "application/json");
}

nlohmann::json Body(const httplib::Result& res) {
  if (!res) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(res->body, nullptr, false);
}

std::string Outcome(const httplib::Result& res) {
  if (!res) return "no answer";
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  return body.is_object() ? body.value("outcome", "") : "";
}

}  // namespace rl::testing
