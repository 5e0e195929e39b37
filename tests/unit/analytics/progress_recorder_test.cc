#include "common/analytics/progress_recorder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace rl::analytics {
namespace {

class FakeLedger final : public LimiterLedger {
 public:
  struct Entry {
    std::string limiter_id;
    uint64_t decided;
    int64_t recorded_at_ms;
    std::string state;
  };
  common::Status Record(std::string_view limiter_id, uint64_t decided, int64_t recorded_at_ms,
                        std::string_view state) override {
    if (failing) return common::Status::Timeout("analytics redis paused");
    entries.push_back({std::string(limiter_id), decided, recorded_at_ms, std::string(state)});
    return common::Status::Ok();
  }
  bool failing = false;
  std::vector<Entry> entries;
};

class ProgressRecorderTest : public ::testing::Test {
 protected:
  uint64_t Failures() {
    return metrics_.AddCounter("rl_progress_record_failures_total", "").Value();
  }
  common::ManualClock clock_;
  common::MetricsRegistry metrics_;
  FakeLedger ledger_;
  std::atomic<uint64_t> decided_{0};
  ProgressRecorder recorder_{ledger_, "lim-a", [this] { return decided_.load(); }, clock_,
                             metrics_};
};

TEST_F(ProgressRecorderTest, RecordsWhenSomethingNewWasDecidedAndOnceASecondAnyway) {
  recorder_.Tick();
  ASSERT_EQ(ledger_.entries.size(), 1u);  // the first tick always records
  clock_.AdvanceMs(5);
  recorder_.Tick();
  EXPECT_EQ(ledger_.entries.size(), 1u);  // nothing new, less than a second later
  decided_ = 42;
  clock_.AdvanceMs(5);
  recorder_.Tick();
  ASSERT_EQ(ledger_.entries.size(), 2u);
  EXPECT_EQ(ledger_.entries.back().decided, 42u);
  EXPECT_EQ(ledger_.entries.back().recorded_at_ms, clock_.NowMs());
  EXPECT_EQ(ledger_.entries.back().state, "running");
  clock_.AdvanceMs(1000);
  recorder_.Tick();  // idle for a second: a record anyway, so that its age says it is alive
  EXPECT_EQ(ledger_.entries.size(), 3u);
}

TEST_F(ProgressRecorderTest, AFailedRecordIsCountedAndRetriedAtTheNextTick) {
  ledger_.failing = true;
  decided_ = 7;
  recorder_.Tick();
  recorder_.Tick();
  EXPECT_EQ(Failures(), 2u);
  ledger_.failing = false;
  recorder_.Tick();
  ASSERT_EQ(ledger_.entries.size(), 1u);
  EXPECT_EQ(ledger_.entries[0].decided, 7u);
}

TEST_F(ProgressRecorderTest, FinishRecordsACleanStop) {
  decided_ = 9;
  recorder_.Tick();
  decided_ = 11;
  EXPECT_TRUE(recorder_.Finish());
  EXPECT_EQ(ledger_.entries.back().state, "stopped");
  EXPECT_EQ(ledger_.entries.back().decided, 11u);
  EXPECT_EQ(ledger_.entries.back().limiter_id, "lim-a");
  ledger_.failing = true;
  EXPECT_FALSE(recorder_.Finish());
}

}  // namespace
}  // namespace rl::analytics
