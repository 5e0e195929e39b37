// The scenarios of the reference service's own integration tests (envoyproxy/ratelimit), as facts
// (tests/rls-reference/facts.yaml): its configs in, its answers out, asked through Envoy's
// published Go stubs (tests/rls-go-client, built by scripts/setup) against a real limiter,
// redis-server and Kafka broker.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kGoClient = ".cache/go/bin/rls-go-client";

// Runs the Go client with one request per line and returns one answer per line (its JSON).
std::vector<json> AskThroughGoStubs(int grpc_port, const std::vector<json>& requests) {
  const std::string in = MakeTempDir("rls-go") + "/requests.jsonl";
  {
    std::ofstream file(in);
    for (const json& r : requests) file << r.dump() << "\n";
  }
  const std::string command = SourcePath(kGoClient) +
                              " -addr 127.0.0.1:" + std::to_string(grpc_port) + " < " + in +
                              " 2>&1";
  std::vector<json> answers;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return answers;
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    answers.push_back(json::parse(line, nullptr, false));
    EXPECT_FALSE(answers.back().is_discarded()) << line;
  }
  return answers;
}

// The facts' notation, read into the reference's whole answer as the Go client prints it
// (protojson with proto names and every field): "<overall> | <status>; ...[ || <headers>]".
// A status is "OK" (no limit: remaining 0, no current_limit, no duration), "OK unlimited"
// (remaining 4294967295), or "<code> <requests_per_unit>/<unit> <remaining>[ name=<name>]" with
// the reference's duration_until_reset for that unit. Headers are "Key=value, ..." in order, a
// value "$reset:<unit>" being that unit's seconds to reset.
json ExpectedAnswer(const std::string& notation) {
  std::string head = notation, header_list;
  if (const size_t bar = notation.find(" || "); bar != std::string::npos) {
    head = notation.substr(0, bar);
    header_list = notation.substr(bar + 4);
  }
  const size_t bar = head.find(" | ");
  json answer = {{"overall_code", head.substr(0, bar)},
                 {"statuses", json::array()},
                 {"response_headers_to_add", json::array()},
                 {"request_headers_to_add", json::array()},
                 {"raw_body", ""},
                 {"dynamic_metadata", nullptr},
                 {"quota", nullptr}};
  std::istringstream statuses(head.substr(bar + 3));
  for (std::string status; std::getline(statuses, status, ';');) {
    std::istringstream words(status);
    std::string code, limit, remaining, name;
    words >> code >> limit >> remaining >> name;
    json s = {{"code", code}, {"current_limit", nullptr}, {"limit_remaining", 0},
              {"duration_until_reset", nullptr}};
    if (limit == "unlimited") {
      s["limit_remaining"] = 4294967295u;
    } else if (!limit.empty()) {
      const size_t slash = limit.find('/');
      const std::string unit = limit.substr(slash + 1);
      s["current_limit"] = {{"name", name.rfind("name=", 0) == 0 ? name.substr(5) : ""},
                            {"requests_per_unit", std::stoul(limit.substr(0, slash))},
                            {"unit", unit}};
      s["limit_remaining"] = std::stoul(remaining);
      s["duration_until_reset"] = "$reset:" + unit;
    }
    answer["statuses"].push_back(s);
  }
  std::istringstream headers(header_list);
  for (std::string header; std::getline(headers, header, ',');) {
    header.erase(0, header.find_first_not_of(' '));
    const size_t eq = header.find('=');
    answer["response_headers_to_add"].push_back(
        {{"key", header.substr(0, eq)}, {"value", header.substr(eq + 1)}});
  }
  return answer;
}

bool IsZero(const json& value) {
  return value.is_null() || (value.is_array() && value.empty()) ||
         (value.is_object() && value.empty()) || value == "" || value == 0 || value == false;
}

// The reference's seconds until a window of `unit` resets, for a time between `from` and `to`
// (Unix seconds): the window's length less the seconds into it (utils.CalculateReset).
std::set<int64_t> ResetSeconds(const std::string& unit, int64_t from, int64_t to) {
  const std::map<std::string, int64_t> window = {
      {"SECOND", 1}, {"MINUTE", 60}, {"HOUR", 3600}, {"DAY", 86400}};
  std::set<int64_t> seconds;
  const auto it = window.find(unit);
  if (it == window.end()) return seconds;
  for (int64_t t = from; t <= to; ++t) seconds.insert(it->second - t % it->second);
  return seconds;
}

// Where `actual` differs from `expected` (ExpectedAnswer): "" when every field is equal. A field
// the notation does not name must hold its zero value.
std::string Difference(const json& expected, const json& actual, int64_t from, int64_t to,
                       const std::string& where = "answer") {
  if (expected.is_string() && expected.get<std::string>().rfind("$reset:", 0) == 0) {
    const auto allowed = ResetSeconds(expected.get<std::string>().substr(7), from, to);
    std::string text = actual.is_string() ? actual.get<std::string>() : actual.dump();
    if (!text.empty() && text.back() == 's') text.pop_back();  // a Duration: "58s"
    for (int64_t s : allowed) {
      if (text == std::to_string(s)) return "";
    }
    return where + ": " + actual.dump() + ", not the reference's seconds to the reset";
  }
  if (expected.is_object() && actual.is_object()) {
    for (const auto& [key, value] : expected.items()) {
      const json there = actual.contains(key) ? actual[key] : json();
      if (auto d = Difference(value, there, from, to, where + "." + key); !d.empty()) return d;
    }
    for (const auto& [key, value] : actual.items()) {
      if (!expected.contains(key) && !IsZero(value)) {
        return where + "." + key + ": " + value.dump() + " where the reference has none";
      }
    }
    return "";
  }
  if (expected.is_array() && actual.is_array() && expected.size() == actual.size()) {
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (auto d = Difference(expected[i], actual[i], from, to, at); !d.empty()) return d;
    }
    return "";
  }
  return expected == actual
             ? ""
             : where + ": " + actual.dump() + " where the reference has " + expected.dump();
}

// The scenario's request (protojson, as the Go client reads it), with "$unique" replaced.
json Request(const YAML::Node& scenario, const std::string& unique) {
  json request = {{"domain", scenario["domain"].as<std::string>()}, {"descriptors", json::array()}};
  for (const YAML::Node& descriptor : scenario["descriptors"]) {
    json entries = json::array();
    for (const YAML::Node& entry : descriptor) {
      const std::string text = entry.as<std::string>();
      const size_t eq = text.find('=');
      std::string value = text.substr(eq + 1);
      if (value == "$unique") value = unique;
      entries.push_back({{"key", text.substr(0, eq)}, {"value", value}});
    }
    request["descriptors"].push_back({{"entries", entries}});
  }
  return request;
}

class RlsReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(SourcePath(kGoClient))) << kGoClient << " is missing: scripts/setup "
                                                   << "builds it from tests/rls-go-client";
    facts_ = YAML::LoadFile(SourcePath("tests/rls-reference/facts.yaml"));
    config_dir_ = MakeTempDir("rls-reference");
    for (const auto& file : fs::directory_iterator(SourcePath("tests/rls-reference/config"))) {
      fs::copy_file(file.path(), config_dir_ + "/" + file.path().filename().string());
    }
    grpc_port_ = FreePort();
    limiter_ = StartLimiter(redis_, SharedKafka().bootstrap(), "rl.rls.reference",
                            {{"LIMITS_FILE", config_dir_},
                             {"LIMITS_RELOAD_INTERVAL_MS", "200"},
                             {"GRPC_PORT", std::to_string(grpc_port_)}});
  }

  // Asks each scenario's request once per answer, in order, and compares whole answers.
  void Run(const char* list) { RunAgainst(list, grpc_port_); }
  void RunAgainst(const char* list, int grpc_port) {
    ASSERT_TRUE(facts_[list].IsSequence()) << list;
    for (const YAML::Node& scenario : facts_[list]) {
      const std::string name = scenario["name"].as<std::string>();
      const std::string unique = std::to_string(++unique_) + "-" + std::to_string(::time(nullptr));
      const YAML::Node& expected = scenario["answers"];
      std::vector<json> requests(expected.size(), Request(scenario, unique));
      // An answer "[hits N] <answer>": its request has hits_addend N.
      std::vector<std::string> notations;
      for (size_t i = 0; i < expected.size(); ++i) {
        std::string notation = expected[i].as<std::string>();
        if (notation.rfind("[hits ", 0) == 0) {
          const size_t close = notation.find("] ");
          requests[i]["hitsAddend"] = std::stoi(notation.substr(6, close - 6));
          notation = notation.substr(close + 2);
        }
        notations.push_back(notation);
      }
      AwayFromAMinuteBoundary();
      const int64_t from = ::time(nullptr);
      std::vector<json> answers = AskThroughGoStubs(grpc_port, requests);
      const int64_t to = ::time(nullptr);
      ASSERT_EQ(answers.size(), expected.size()) << name;
      for (size_t i = 0; i < answers.size(); ++i) {
        const std::string& notation = notations[i];
        EXPECT_EQ(Difference(ExpectedAnswer(notation), answers[i], from, to), "")
            << name << ", request " << i + 1 << ": expected " << notation << ", answered "
            << answers[i].dump();
      }
      std::printf("[facts] %s: %zu whole answers as the reference's\n", name.c_str(),
                  answers.size());
    }
  }

  // A limiter's environment as a Deployment of the reference gives it: the reference's settings
  // for its ports and this fixture's Redis, with `settings` (its config source) added. No broker
  // here: these tests are about the reference's settings.
  Env ReferenceStyleEnv(int port, int grpc_port, Env settings) const {
    settings.insert({{"HOST", "127.0.0.1"},
                     {"PORT", std::to_string(port)},
                     {"GRPC_PORT", std::to_string(grpc_port)},
                     {"REDIS_SOCKET_TYPE", "tcp"},
                     {"REDIS_URL", "127.0.0.1:" + std::to_string(redis_.port())},
                     {"USE_STATSD", "false"},
                     {"KAFKA_STARTUP_WAIT_MS", "0"}});
    return settings;
  }
  // Whether the reference's probe path answers 200 within 20 s.
  static bool BecomesHealthy(httplib::Client& http) {
    return Eventually(
        [&] {
          auto res = http.Get("/healthcheck");
          return res && res->status == 200;
        },
        std::chrono::seconds(20));
  }

  // Waits for the limiter to load its changed limits directory.
  void WaitForReload(double loaded_before) {
    auto client = limiter_->Client();
    ASSERT_TRUE(Eventually([&] { return MetricValue(*client, kLoaded) > loaded_before; },
                           std::chrono::seconds(10)));
  }
  double Loaded() { return MetricValue(*limiter_->Client(), kLoaded); }

  static constexpr const char* kLoaded = "rl_policy_reloads_total{result=\"applied\"}";
  RedisServer redis_;
  YAML::Node facts_;
  std::string config_dir_;
  int grpc_port_ = 0;
  int unique_ = 0;
  std::unique_ptr<ServiceProcess> limiter_;
};

TEST_F(RlsReferenceTest, TheBasicScenariosGiveTheReferencesCodesAndRemainingCounts) {
  Run("scenarios");
  // And the reference's statistics of them (ratelimit.service.rate_limit.another.key2.total_hits
  // and so on): key2 was hit 25 + 15 times, 5 over its limit, then 15 + 15 + 1 (the hits
  // scenario: 10 of the second 15 over, as the reference counts the part past the limit, and the
  // last 1); key3 15 times, 5 over.
  auto client = limiter_->Client();
  auto stat = [&](const std::string& name, const std::string& descriptor) {
    return MetricValue(*client, name + "{descriptor=\"" + descriptor + "\",domain=\"another\"}");
  };
  EXPECT_EQ(stat("rl_descriptor_hits_total", "key2"), 71);
  EXPECT_EQ(stat("rl_descriptor_over_limit_hits_total", "key2"), 16);
  EXPECT_EQ(stat("rl_descriptor_within_limit_hits_total", "key2"), 50);
  EXPECT_EQ(stat("rl_descriptor_hits_total", "key3"), 15);
  EXPECT_EQ(stat("rl_descriptor_over_limit_hits_total", "key3"), 5);
  // value_to_metric: the route level is named by the request's value, as the reference's
  // statistic fields.route_/api/users.method.
  EXPECT_EQ(MetricValue(*client, "rl_descriptor_hits_total{descriptor=\"route_/api/users.method\","
                                 "domain=\"fields\"}"),
            1);
}

// The reference's response headers, switched on and renamed by its own settings.
TEST_F(RlsReferenceTest, TheReferencesHeaderSettingsGiveItsHeaders) {
  const int grpc_port = FreePort();
  auto with_headers = StartLimiter(redis_, SharedKafka().bootstrap(), "rl.rls.reference.headers",
                                   {{"LIMITS_FILE", config_dir_},
                                    {"GRPC_PORT", std::to_string(grpc_port)},
                                    {"LIMIT_RESPONSE_HEADERS_ENABLED", "true"},
                                    {"LIMIT_LIMIT_HEADER", "A-Ratelimit-Limit"},
                                    {"LIMIT_REMAINING_HEADER", "A-Ratelimit-Remaining"},
                                    {"LIMIT_RESET_HEADER", "A-Ratelimit-Reset"}});
  RunAgainst("with_response_headers", grpc_port);
}

// A Deployment of the reference with its image swapped: only the reference's settings, its
// config directory laid out as its runtime wants it (RUNTIME_ROOT a symlink, swapped to update,
// as a Kubernetes ConfigMap is), its probe path. It serves the README's examples over gRPC and
// /json, skips dotfiles (RUNTIME_IGNOREDOTFILES) and never reads a ConfigMap's ..data.
TEST_F(RlsReferenceTest, ALimiterWithOnlyTheReferencesSettingsServesItsExampleConfigs) {
  const std::string root = MakeTempDir("reference-runtime");
  auto lay_out = [&](const std::string& version, bool with_reload) {
    const std::string dir = root + "/" + version + "/ratelimit/config";
    fs::create_directories(dir + "/..data");
    for (const auto& file : fs::directory_iterator(SourcePath("tests/rls-reference/examples"))) {
      fs::copy_file(file.path(), dir + "/" + file.path().filename().string());
    }
    if (with_reload) fs::copy_file(SourcePath("tests/rls-reference/reload.yaml"), dir + "/reload.yaml");
    std::ofstream(dir + "/.hidden.yaml") << "not: [valid";              // skipped
    fs::copy_file(dir + "/example1.yaml", dir + "/..data/example1.yaml");  // never read
  };
  lay_out("v1", false);
  fs::create_directory_symlink(root + "/v1", root + "/current");
  const int port = FreePort(), grpc_port = FreePort();
  ChildProcess reference_style(
      {BinaryPath("limiter")},
      ReferenceStyleEnv(port, grpc_port,
                        {{"RUNTIME_ROOT", root + "/current"},
                         {"RUNTIME_SUBDIRECTORY", "ratelimit"},
                         {"RUNTIME_WATCH_ROOT", "false"},
                         {"RUNTIME_IGNOREDOTFILES", "true"},
                         {"LOG_LEVEL", "INFO"},
                         {"HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED", "true"}}),
      root + "/limiter.log");
  httplib::Client http("127.0.0.1", port);
  ASSERT_TRUE(BecomesHealthy(http)) << reference_style.LogTail();
  EXPECT_NE(reference_style.LogTail(20000).find("envoyproxy/ratelimit setting RUNTIME_ROOT"),
            std::string::npos);
  RunAgainst("examples", grpc_port);
  // /json, the reference's HTTP form of the same call.
  auto json_answer = http.Post("/json",
                               R"({"domain":"mongo_cps","descriptors":[{"entries":)"
                               R"([{"key":"database","value":"default"}]}]})",
                               "application/json");
  ASSERT_TRUE(json_answer);
  EXPECT_EQ(json_answer->status, 200) << json_answer->body;
  EXPECT_NE(json_answer->body.find("\"overallCode\":\"OK\""), std::string::npos) << json_answer->body;
  // The ConfigMap is updated: a new version directory, the symlink swapped in one rename.
  const double before = MetricValue(http, kLoaded);
  lay_out("v2", true);
  fs::create_directory_symlink(root + "/v2", root + "/next");
  fs::rename(root + "/next", root + "/current");
  ASSERT_TRUE(Eventually([&] { return MetricValue(http, kLoaded) > before; },
                         std::chrono::seconds(10)));
  RunAgainst("after_reload", grpc_port);
}

// The reference's configs from an xDS server, as Envoy Gateway serves them
// (CONFIG_TYPE=GRPC_XDS_SOTW): go-control-plane's own SotW server and snapshot cache
// (tests/xds-server) serves RateLimitConfig resources; each new snapshot is applied and ACKed, an
// invalid one NACKed while the configs in force stay.
TEST_F(RlsReferenceTest, ConfigsFromAnXdsServerAreServedUpdatedAndABadOneRefused) {
  const std::string xds_server = SourcePath(".cache/go/bin/xds-server");
  ASSERT_TRUE(fs::exists(xds_server)) << "scripts/setup builds it from tests/xds-server";
  const std::string dir = MakeTempDir("xds");
  const std::string configs = dir + "/configs.json";
  const std::string examples = R"([
    {"name": "mongo_cps", "domain": "mongo_cps", "descriptors": [
      {"key": "database", "value": "users",
       "rateLimit": {"unit": "SECOND", "requestsPerUnit": 500}}]},
    {"name": "messaging", "domain": "messaging", "descriptors": [
      {"key": "message_type", "value": "marketing", "descriptors": [
        {"key": "to_number", "rateLimit": {"unit": "DAY", "requestsPerUnit": 5}}]},
      {"key": "to_number", "rateLimit": {"unit": "DAY", "requestsPerUnit": 100}}]},
    {"name": "internal", "domain": "internal", "descriptors": [
      {"key": "ldap", "rateLimit": {"unlimited": true}},
      {"key": "azure", "rateLimit": {"unit": "MINUTE", "requestsPerUnit": 100}}]},
    {"name": "example7", "domain": "example7", "descriptors": [
      {"key": "key_1", "value": "value_1", "descriptors": [
        {"key": "user", "value": "bkthomps", "rateLimit":
          {"name": "specific_limit", "unit": "SECOND", "requestsPerUnit": 5}}]},
      {"key": "key_2", "value": "value_2", "descriptors": [
        {"key": "user", "value": "bkthomps", "rateLimit":
          {"replaces": [{"name": "specific_limit"}], "unit": "SECOND", "requestsPerUnit": 10}}]}]}
  ])";
  std::ofstream(configs) << examples;
  const int xds_port = FreePort();
  ChildProcess xds({xds_server, "-port", std::to_string(xds_port), "-node", "rl-node",
                    "-configs", configs},
                   {}, dir + "/xds-server.log");
  const int port = FreePort(), grpc_port = FreePort();
  ChildProcess limiter({BinaryPath("limiter")},
                       ReferenceStyleEnv(
                           port, grpc_port,
                           {{"CONFIG_TYPE", "GRPC_XDS_SOTW"},
                            {"CONFIG_GRPC_XDS_SERVER_URL",
                             "127.0.0.1:" + std::to_string(xds_port)},
                            {"CONFIG_GRPC_XDS_NODE_ID", "rl-node"},
                            {"CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL", "200ms"}}),
                       dir + "/limiter.log");
  httplib::Client http("127.0.0.1", port);
  // Not ready before the first configs (FORCE_START_WITHOUT_INITIAL_CONFIG is off), then ready.
  ASSERT_TRUE(BecomesHealthy(http)) << limiter.LogTail() << xds.LogTail();
  const std::string applied = "rl_xds_config_updates_total{result=\"applied\"}";
  EXPECT_EQ(MetricValue(http, applied), 1);
  RunAgainst("xds_examples", grpc_port);
  EXPECT_TRUE(Eventually([&] { return xds.LogTail().find("acked version 1") != std::string::npos; },
                         std::chrono::seconds(5)))
      << xds.LogTail();
  // A new snapshot: the reload domain added, served once applied.
  std::ofstream(configs) << R"([{"name": "reload", "domain": "reload", "descriptors": [
      {"key": "key1", "rateLimit": {"unit": "SECOND", "requestsPerUnit": 50}},
      {"key": "block", "rateLimit": {"unit": "SECOND", "requestsPerUnit": 0}}]}])";
  ASSERT_TRUE(Eventually([&] { return MetricValue(http, applied) == 2; }, std::chrono::seconds(10)));
  RunAgainst("after_reload", grpc_port);
  // An invalid snapshot (a limit without its unit) is refused, NACKed, and the last one stays.
  std::ofstream(configs) << R"([{"name": "broken", "domain": "broken", "descriptors": [
      {"key": "k", "rateLimit": {"requestsPerUnit": 5}}]}])";
  const std::string rejected = "rl_xds_config_updates_total{result=\"rejected\"}";
  ASSERT_TRUE(Eventually([&] { return MetricValue(http, rejected) == 1; }, std::chrono::seconds(10)));
  EXPECT_TRUE(Eventually([&] { return xds.LogTail().find("nacked") != std::string::npos; },
                         std::chrono::seconds(5)));
  RunAgainst("xds_after_rejection", grpc_port);
  // Refused once, however often the server sends it again.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(MetricValue(http, rejected), 1);
}

TEST_F(RlsReferenceTest, ADurationUntilResetTicksDown) {
  // The reference asks twice, 2 s apart, for a day's limit and expects less time left.
  json request = {
      {"domain", "another"},
      {"descriptors",
       {{{"entries",
          {{{"key", "key4"}, {"value", "durTest" + std::to_string(::time(nullptr))}}}}}}}};
  auto first = AskThroughGoStubs(grpc_port_, {request});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto second = AskThroughGoStubs(grpc_port_, {request});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  auto seconds = [](const json& answer) {
    // protojson writes a Duration as a string of seconds, e.g. "86399.5s".
    return std::stod(answer["statuses"][0]["duration_until_reset"].get<std::string>());
  };
  EXPECT_LT(seconds(second[0]), seconds(first[0]));
  EXPECT_GT(seconds(first[0]), 0);
  EXPECT_LE(seconds(first[0]), 86400);
}

TEST_F(RlsReferenceTest, AFileAddedToTheDirectoryIsLoadedAndItsRemovalUnloadsIt) {
  Run("before_reload");
  const double before = Loaded();
  fs::copy_file(SourcePath("tests/rls-reference/reload.yaml"), config_dir_ + "/reload.yaml");
  WaitForReload(before);
  Run("after_reload");
  const double after = Loaded();
  fs::remove(config_dir_ + "/reload.yaml");
  WaitForReload(after);
  Run("after_removal");
}

}  // namespace
}  // namespace rl::testing
