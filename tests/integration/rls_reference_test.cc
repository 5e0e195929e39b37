// The scenarios of the reference service's own integration tests (envoyproxy/ratelimit), as facts
// (tests/rls-reference/facts.yaml): its configs in, its answers out, asked through Envoy's
// published Go stubs (tests/rls-go-client, built by scripts/setup) against a real limiter,
// redis-server and Kafka broker.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <ctime>
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

// An answer in the facts' notation: "<overall> | <status>; ..." with "OK" for a status without a
// limit and "<code> <requests_per_unit>/<unit> <remaining>" otherwise.
std::string Notation(const json& answer) {
  if (answer.contains("grpc_error")) return "gRPC error " + answer["grpc_error"].dump();
  std::string out = answer.value("overall_code", "?") + " |";
  const json statuses = answer.value("statuses", json::array());
  for (size_t i = 0; i < statuses.size(); ++i) {
    const json& s = statuses[i];
    out += (i ? "; " : " ") + s.value("code", std::string("?"));
    if (s.contains("current_limit") && !s["current_limit"].is_null()) {
      out += " " + std::to_string(s["current_limit"].value("requests_per_unit", 0)) + "/" +
             s["current_limit"].value("unit", std::string("?")) + " " +
             std::to_string(s.value("limit_remaining", 0));
    }
  }
  return out;
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

  // Asks each scenario's request once per answer, in order, and compares.
  void Run(const char* list) {
    ASSERT_TRUE(facts_[list].IsSequence()) << list;
    for (const YAML::Node& scenario : facts_[list]) {
      const std::string name = scenario["name"].as<std::string>();
      const std::string unique = std::to_string(++unique_) + "-" + std::to_string(::time(nullptr));
      const YAML::Node& expected = scenario["answers"];
      std::vector<json> requests(expected.size(), Request(scenario, unique));
      AwayFromAMinuteBoundary();
      std::vector<json> answers = AskThroughGoStubs(grpc_port_, requests);
      ASSERT_EQ(answers.size(), expected.size()) << name;
      for (size_t i = 0; i < answers.size(); ++i) {
        EXPECT_EQ(Notation(answers[i]), expected[i].as<std::string>())
            << name << ", request " << i + 1;
      }
      std::printf("[facts] %s: %zu answers as the reference's\n", name.c_str(), answers.size());
    }
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
  // and so on): key2 was hit 25 + 15 times, 5 over its limit; key3 15 times, 5 over.
  auto client = limiter_->Client();
  auto stat = [&](const std::string& name, const std::string& descriptor) {
    return MetricValue(*client, name + "{descriptor=\"" + descriptor + "\",domain=\"another\"}");
  };
  EXPECT_EQ(stat("rl_descriptor_hits_total", "key2"), 40);
  EXPECT_EQ(stat("rl_descriptor_over_limit_hits_total", "key2"), 5);
  EXPECT_EQ(stat("rl_descriptor_within_limit_hits_total", "key2"), 35);
  EXPECT_EQ(stat("rl_descriptor_hits_total", "key3"), 15);
  EXPECT_EQ(stat("rl_descriptor_over_limit_hits_total", "key3"), 5);
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
