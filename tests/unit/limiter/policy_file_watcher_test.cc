#include <gtest/gtest.h>

#include <map>

#include "limiter/policy_holder.h"

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

}  // namespace
}  // namespace rl::limiter
