// The exactly-once core of the analytics worker, without Kafka or Redis: a fake consumer group
// member and an in-memory sink with the same position check as apply_batch.lua, on a manual
// clock.
#include "analytics-worker/consumer_loop.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "proto-events/event_codec.h"
#include "tests/support/memory_analytics_sink.h"

namespace rl::analytics {
namespace {

// One topic's partitions as logs, read the way a group member reads them: from a position that
// the listener chooses at assignment and Seek moves, except while paused.
class FakeConsumer final : public common::MessageConsumer {
 public:
  explicit FakeConsumer(common::RebalanceListener& listener) : listener_(listener) {}

  void Append(int32_t partition, const std::string& payload) {
    logs_[partition].push_back(payload);
  }
  void Assign(const std::vector<int32_t>& partitions) {
    auto starts = listener_.OnAssigned(partitions);
    for (int32_t p : partitions) {
      auto it = starts.find(p);
      int64_t start = it == starts.end() ? common::kOffsetBeginning : it->second;
      if (start == common::kOffsetLater) paused_.insert(p);
      positions_[p] = start >= 0 ? start : 0;
    }
  }
  void Revoke(const std::vector<int32_t>& partitions) {
    listener_.OnRevoked(partitions);
    for (int32_t p : partitions) positions_.erase(p), paused_.erase(p);
  }

  std::optional<common::ConsumedMessage> Poll(int) override {
    for (auto& [p, position] : positions_) {
      if (paused_.count(p) || position >= static_cast<int64_t>(logs_[p].size())) continue;
      return common::ConsumedMessage{p, position, logs_[p][position++]};
    }
    return std::nullopt;
  }
  common::Status Seek(int32_t partition, int64_t offset) override {
    if (!positions_.count(partition)) return common::Status::Unavailable("not assigned");
    positions_[partition] = offset == common::kOffsetBeginning ? 0 : offset;
    ++seeks_;
    return common::Status::Ok();
  }
  void Pause(int32_t partition) override { paused_.insert(partition); }
  void Resume(int32_t partition) override { paused_.erase(partition); }
  void CommitAsync(int32_t partition, int64_t next) override { committed_[partition] = next; }
  int64_t HighWatermark(int32_t partition) const override {
    auto it = logs_.find(partition);
    return it == logs_.end() ? 0 : static_cast<int64_t>(it->second.size());
  }
  void Close() override {
    std::vector<int32_t> owned;
    for (auto& [p, position] : positions_) owned.push_back(p);
    if (!owned.empty()) Revoke(owned);
    closed_ = true;
  }

  bool paused(int32_t p) const { return paused_.count(p) > 0; }
  int64_t position(int32_t p) const { return positions_.at(p); }
  int seeks() const { return seeks_; }
  std::map<int32_t, int64_t> committed() const { return committed_; }
  bool closed() const { return closed_; }

 private:
  common::RebalanceListener& listener_;
  std::map<int32_t, std::vector<std::string>> logs_;
  std::map<int32_t, int64_t> positions_;
  std::set<int32_t> paused_;
  std::map<int32_t, int64_t> committed_;
  int seeks_ = 0;
  bool closed_ = false;
};

// The sink's contract in memory: a batch is applied only where the stored position equals its
// first offset (or none is stored), and then moves it.
class ConsumerLoopTest : public ::testing::Test {
 protected:
  ConsumerLoopTest() { loop_.Start(consumer_); }
  void Produce(int32_t partition, int count) {
    for (int i = 0; i < count; ++i) {
      events::v1::Decision d;
      d.set_event_id("lim-" + std::to_string(++sequence_));
      d.set_ts_ms(clock_.NowMs());
      d.set_user_id("u" + std::to_string(partition));
      d.set_action("default");
      d.set_outcome(events::v1::OUTCOME_ALLOWED);
      d.set_allowed(true);
      consumer_.Append(partition, events::EncodeDecision(d));
    }
  }
  // Steps until the consumer has nothing more to give, then past the batch age.
  void Drain() {
    for (int i = 0; i < 1000; ++i) loop_.Step(0);
    clock_.AdvanceMs(options_.batch_max_ms + 1);
    for (int i = 0; i < 10; ++i) loop_.Step(0);
  }
  uint64_t Metric(const std::string& name) { return metrics_.AddCounter(name, "").Value(); }

  common::ManualClock clock_;
  common::MetricsRegistry metrics_;
  MemorySink sink_;
  ConsumerLoopOptions options_{.batch_max_events = 10,
                               .batch_max_ms = 100,
                               .retention_minutes = 60,
                               .retry_backoff_ms = 500};
  ConsumerLoop loop_{sink_, clock_, metrics_, options_};
  FakeConsumer consumer_{loop_};
  int sequence_ = 0;
};

TEST_F(ConsumerLoopTest, AppliesEveryEventOnceInBatchesAndStoresThePositions) {
  consumer_.Assign({0, 1});
  Produce(0, 25);
  Produce(1, 3);
  Drain();
  EXPECT_EQ(sink_.Total("rla:global"), 28);
  EXPECT_EQ(sink_.Position(0), 25);
  EXPECT_EQ(sink_.Position(1), 3);
  EXPECT_EQ(sink_.batches(), 4);  // 10 + 10 + 5 on partition 0, 3 on partition 1
  EXPECT_EQ(consumer_.committed(), (std::map<int32_t, int64_t>{{0, 25}, {1, 3}}));
  EXPECT_EQ(loop_.assigned_partitions(), 2);
}

TEST_F(ConsumerLoopTest, StartsEachAssignedPartitionAtItsStoredPosition) {
  Produce(0, 12);
  sink_.MoveTo(0, 7);  // a previous owner applied [0, 7)
  consumer_.Assign({0});
  EXPECT_EQ(consumer_.position(0), 7);
  Drain();
  EXPECT_EQ(sink_.Total("rla:global"), 5);
  EXPECT_EQ(sink_.Position(0), 12);
}

TEST_F(ConsumerLoopTest, AStaleBatchIsFencedOffAndTheLoopReReadsFromTheStoredPosition) {
  consumer_.Assign({0});
  Produce(0, 6);
  for (int i = 0; i < 100; ++i) loop_.Step(0);  // 6 events held, not yet due
  sink_.MoveTo(0, 4);  // meanwhile another owner applied [0, 4): this worker is a zombie
  clock_.AdvanceMs(options_.batch_max_ms + 1);
  loop_.Step(0);
  EXPECT_EQ(Metric("rl_analytics_batches_rejected_total"), 1u);
  EXPECT_EQ(sink_.Total("rla:global"), 0);  // nothing of the stale batch counted
  EXPECT_EQ(consumer_.seeks(), 1);
  Drain();
  EXPECT_EQ(sink_.Total("rla:global"), 2);  // only [4, 6), once
  EXPECT_EQ(sink_.Position(0), 6);
}

TEST_F(ConsumerLoopTest, APartitionWhoseBatchRedisWillNotTakeIsPausedThenResumed) {
  consumer_.Assign({0});
  sink_.Fail(common::Status::Unavailable("redis down"));
  Produce(0, 30);
  for (int i = 0; i < 100; ++i) loop_.Step(0);
  EXPECT_TRUE(consumer_.paused(0));  // a full batch it cannot apply: memory stays bounded
  EXPECT_EQ(consumer_.position(0), 10);
  EXPECT_GE(Metric("rl_analytics_apply_errors_total"), 1u);
  sink_.Recover();
  clock_.AdvanceMs(options_.retry_backoff_ms);
  Drain();
  EXPECT_FALSE(consumer_.paused(0));
  EXPECT_EQ(sink_.Total("rla:global"), 30);
  EXPECT_EQ(sink_.Position(0), 30);
}

TEST_F(ConsumerLoopTest, WhatItHoldsIsAppliedWhenPartitionsAreRevokedOrItStops) {
  consumer_.Assign({0, 1});
  Produce(0, 4);
  Produce(1, 2);
  for (int i = 0; i < 100; ++i) loop_.Step(0);  // held, not due
  consumer_.Revoke({0});
  EXPECT_EQ(sink_.Position(0), 4);
  EXPECT_EQ(loop_.assigned_partitions(), 1);
  loop_.Finish();
  EXPECT_EQ(sink_.Position(1), 2);
  EXPECT_TRUE(consumer_.closed());
  EXPECT_EQ(sink_.Total("rla:global"), 6);
}

TEST_F(ConsumerLoopTest, PositionsUnreadableAtAssignmentAreReadLaterOutsideTheCallback) {
  Produce(0, 8);
  sink_.MoveTo(0, 3);
  sink_.Fail(common::Status::Timeout("redis paused"));
  consumer_.Assign({0});  // returns at once: no waiting inside the rebalance
  EXPECT_TRUE(consumer_.paused(0));
  EXPECT_EQ(loop_.assigned_partitions(), 1);
  for (int i = 0; i < 10; ++i) loop_.Step(0);
  EXPECT_TRUE(consumer_.paused(0));  // still down: nothing read
  sink_.Recover();
  loop_.Step(0);
  EXPECT_TRUE(consumer_.paused(0));  // not retried before the backoff
  clock_.AdvanceMs(options_.retry_backoff_ms);
  loop_.Step(0);
  EXPECT_FALSE(consumer_.paused(0));
  EXPECT_EQ(consumer_.position(0), 3);
  Drain();
  EXPECT_EQ(sink_.Total("rla:global"), 5);
  EXPECT_EQ(sink_.Position(0), 8);
}

TEST_F(ConsumerLoopTest, UndecodableMessagesAreSkippedButMoveThePosition) {
  consumer_.Assign({0});
  Produce(0, 2);
  consumer_.Append(0, "\xff\xff not a protobuf");
  Produce(0, 1);
  Drain();
  EXPECT_EQ(Metric("rl_analytics_undecodable_total"), 1u);
  EXPECT_EQ(sink_.Total("rla:global"), 3);
  EXPECT_EQ(sink_.Position(0), 4);
}

}  // namespace
}  // namespace rl::analytics
