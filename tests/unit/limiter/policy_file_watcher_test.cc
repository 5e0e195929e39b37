#include <gtest/gtest.h>

#include <map>
#include <random>

#include "limiter/core/policy_holder.h"

namespace rl::limiter {
namespace {

constexpr char kPath[] = "config/limits.yaml";

std::string File(const std::string& version, int limit) {
  return "version: " + version + "\nrules: [{name: r, limit: " + std::to_string(limit) +
         ", window: 1s}]\n";
}

// The watcher over an in-memory file system, on a manual clock: no thread, no disk.
class PolicyFileWatcherTest : public ::testing::Test {
 protected:
  PolicyFileWatcherTest() {
    auto defaults = std::make_shared<ActivePolicy>();
    defaults->policy = DefaultPolicy(10, 1);
    defaults->hash = "defaults";
    holder_.Replace(defaults);
  }
  std::string Version() { return holder_.Current()->policy.version; }
  uint64_t Reloads(const std::string& result) {
    return metrics_.AddCounter("rl_policy_reloads_total", "", {{"result", result}}).Value();
  }

  std::map<std::string, std::string> files_;
  common::ManualClock clock_;
  common::MetricsRegistry metrics_;
  PolicyHolder holder_{nullptr};
  PolicyFileWatcher watcher_{kPath, holder_, clock_, metrics_,
                             [this](const std::string& path) -> std::optional<std::string> {
                               auto it = files_.find(path);
                               if (it == files_.end()) return std::nullopt;
                               return it->second;
                             }};
};

TEST_F(PolicyFileWatcherTest, AFileThatAppearsAfterStartIsLoaded) {
  watcher_.Poll();
  EXPECT_EQ(Version(), "defaults");
  files_[kPath] = File("late", 5);
  watcher_.Poll();
  EXPECT_EQ(Version(), "late");
  EXPECT_EQ(holder_.Current()->policy.rules.at(0).limit.limit, 5);
  EXPECT_EQ(Reloads("applied"), 1u);
}

TEST_F(PolicyFileWatcherTest, AFileThatDisappearsKeepsTheRulesLastLoaded) {
  files_[kPath] = File("v1", 5);
  watcher_.Poll();
  files_.erase(kPath);
  watcher_.Poll();
  watcher_.Poll();
  EXPECT_EQ(Version(), "v1");
  EXPECT_EQ(Reloads("rejected"), 0u);
  files_[kPath] = File("v2", 6);
  watcher_.Poll();
  EXPECT_EQ(Version(), "v2");
}

TEST_F(PolicyFileWatcherTest, ARejectedVersionIsCountedOnceAndAgainEachTimeItIsDeployedAnew) {
  const std::string bad = "rules: [{name: r, limit: -1, window: 1s}]\n";
  files_[kPath] = File("good1", 5);
  watcher_.Poll();
  files_[kPath] = bad;
  for (int i = 0; i < 3; ++i) watcher_.Poll();
  EXPECT_EQ(Reloads("rejected"), 1u);  // not at every interval
  EXPECT_EQ(Version(), "good1");
  files_[kPath] = File("good2", 5);
  watcher_.Poll();
  EXPECT_EQ(Version(), "good2");
  files_[kPath] = bad;  // the same bad version, deployed again
  watcher_.Poll();
  EXPECT_EQ(Reloads("rejected"), 2u);
  EXPECT_EQ(Version(), "good2");
}

TEST_F(PolicyFileWatcherTest, AnExplicitReloadReportsABadFileEveryTime) {
  files_[kPath] = "rules: [{name: r, limit: 1, window: \"1" + std::string(400, '0') + "s\"}]";
  EXPECT_FALSE(watcher_.Reload());
  EXPECT_FALSE(watcher_.Reload());
  EXPECT_EQ(Reloads("rejected"), 2u);
  EXPECT_EQ(Version(), "defaults");
  files_[kPath] = File("fixed", 3);
  EXPECT_TRUE(watcher_.Reload());
  EXPECT_FALSE(watcher_.Reload());  // unchanged: nothing new is active
  EXPECT_EQ(Version(), "fixed");
}

// A limits directory in memory: file name -> content; ReadLimits' bundle of its *.yaml files.
class LimitsDirectoryTest : public PolicyFileWatcherTest {
 protected:
  void Write(const std::string& name, const std::string& text) {
    dir_[name] = text;
    Sync();
  }
  void Remove(const std::string& name) {
    dir_.erase(name);
    Sync();
  }
  void Sync() {
    std::vector<BundleFile> files;
    for (const auto& [name, text] : dir_) {
      if (name.size() > 5 && (name.ends_with(".yaml") || name.ends_with(".yml")))
        files.push_back({name, text});
    }
    if (unreadable_) {
      files_.erase(kPath);
    } else {
      files_[kPath] = JoinBundle(files);
    }
  }
  double MissingFiles() { return metrics_.AddGauge("rl_policy_missing_files", "").Value(); }
  std::map<std::string, std::string> dir_;
  bool unreadable_ = false;
};

const char kEdge[] =
    "domain: edge\ndescriptors:\n  - key: remote_address\n"
    "    rate_limit: {unit: second, requests_per_unit: 5}\n";

TEST_F(LimitsDirectoryTest, AnOwnFormatFileThatLeavesTheDirectoryKeepsItsRulesWithAWarnAndAMetric) {
  Write("own.yaml", File("v1", 7));
  Write("edge.yaml", kEdge);
  watcher_.Poll();
  ASSERT_EQ(Version(), "v1");
  ASSERT_EQ(holder_.Current()->policy.domains.size(), 1u);
  // mv own.yaml own.yaml.bak: before, this loaded "domains" with 0 rules and no tiers.
  dir_["own.yaml.bak"] = dir_["own.yaml"];
  Remove("own.yaml");
  watcher_.Poll();
  watcher_.Poll();
  EXPECT_EQ(Version(), "v1");
  ASSERT_EQ(holder_.Current()->policy.rules.size(), 1u);
  EXPECT_EQ(holder_.Current()->policy.rules.at(0).limit.limit, 7);
  EXPECT_EQ(holder_.Current()->policy.domains.size(), 1u);
  EXPECT_EQ(MissingFiles(), 1);
  // A domain file changed meanwhile is still applied, beside the kept rules.
  Write("edge.yaml", std::string(kEdge) +
                         "  - key: user_id\n"
                         "    rate_limit: {unit: minute, requests_per_unit: 9}\n");
  watcher_.Poll();
  EXPECT_EQ(Version(), "v1");
  EXPECT_EQ(holder_.Current()->policy.domains.at("edge").descriptors.size(), 2u);
  // Back under another name: its rules, and nothing missing any more.
  Write("rules.yaml", File("v2", 8));
  watcher_.Poll();
  EXPECT_EQ(Version(), "v2");
  EXPECT_EQ(MissingFiles(), 0);
}

TEST_F(LimitsDirectoryTest, RulesAreRemovedOnlyByAFileThatSaysSo) {
  Write("own.yaml", File("v1", 7));
  watcher_.Poll();
  Write("own.yaml", "version: none\nrules: []\n");
  watcher_.Poll();
  EXPECT_EQ(Version(), "none");
  EXPECT_TRUE(holder_.Current()->policy.rules.empty());
  EXPECT_EQ(MissingFiles(), 0);
}

TEST_F(LimitsDirectoryTest, AnEnvoyFormatFileThatLeavesUnloadsItsDomainAsTheReferenceDoes) {
  Write("own.yaml", File("v1", 7));
  Write("edge.yaml", kEdge);
  watcher_.Poll();
  Remove("edge.yaml");
  watcher_.Poll();
  EXPECT_EQ(Version(), "v1");
  EXPECT_TRUE(holder_.Current()->policy.domains.empty());
}

// The property: whatever happens to the files of a limits directory (delete, rename, truncate,
// a partial write, an unreadable directory, a file moved in from elsewhere), the active policy
// after each poll is the directory's own if that loads with a file of the project's format, and
// otherwise the rules last in force: never an empty policy that nobody wrote.
TEST_F(LimitsDirectoryTest, WhateverHappensToItsFilesTheActiveRulesAreTheNewValidOnesOrTheLast) {
  std::mt19937 random(20261202);
  int written = 0;
  auto own = [&] {
    ++written;
    return File("v" + std::to_string(written), written);
  };
  const std::vector<std::string> names = {"own.yaml", "rules.yml", "edge.yaml", "other.yaml"};
  Write("own.yaml", own());
  Write("edge.yaml", kEdge);
  watcher_.Poll();
  ASSERT_EQ(Version(), "v1");
  for (int step = 0; step < 2000; ++step) {
    const std::string before = Version();
    const std::string name = names[random() % names.size()];
    const auto it = dir_.find(name);
    std::string what;
    switch (random() % 9) {
      case 0:
        what = "delete";
        Remove(name);
        break;
      case 1:
        what = "rename to .bak";
        if (it != dir_.end()) {
          dir_[name + ".bak"] = it->second;
          Remove(name);
        }
        break;
      case 2: {
        what = "rename";
        const std::string to = names[random() % names.size()];
        if (it != dir_.end() && to != name) {
          dir_[to] = it->second;
          Remove(name);
        }
        break;
      }
      case 3:
        what = "truncate";
        Write(name, "");
        break;
      case 4: {
        what = "partial write";
        const std::string full = random() % 2 ? own() : std::string(kEdge);
        Write(name, full.substr(0, random() % full.size()));
        break;
      }
      case 5:
        what = "unreadable";
        unreadable_ = !unreadable_;
        Sync();
        break;
      case 6:
        what = "own-format file moved in";
        Write(name, own());
        break;
      case 7:
        what = "envoy file moved in";
        Write(name, kEdge);
        break;
      default:
        what = "garbage";
        Write(name, "rules: [{name: r, limit: x}]\n");
        break;
    }
    watcher_.Poll();
    const std::string trace = "step " + std::to_string(step) + ": " + what + " " + name;
    ASSERT_NE(Version(), "domains") << trace;
    ASSERT_FALSE(holder_.Current()->policy.rules.empty()) << trace;
    auto fresh = ActivePolicyFromText(files_.count(kPath) ? files_[kPath] : "", kPath, clock_);
    if (!unreadable_ && fresh.ok() && !fresh.value()->own_format_file.empty()) {
      ASSERT_EQ(Version(), fresh.value()->policy.version) << trace;  // the new valid one
    } else {
      ASSERT_EQ(Version(), before) << trace;  // the last one
    }
  }
}

}  // namespace
}  // namespace rl::limiter
