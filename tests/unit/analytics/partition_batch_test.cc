#include "analytics-worker/partition_batch.h"

#include <gtest/gtest.h>

namespace rl::analytics {
namespace {

events::v1::Decision Any() {
  events::v1::Decision d;
  d.set_user_id("u");
  return d;
}

TEST(PartitionBatch, StartsAtTheStoredPositionAndCoversUpToTheLastOffset) {
  PartitionBatch b(100);
  b.Add(100, Any(), 0);
  b.Add(101, Any(), 0);
  EXPECT_EQ(b.start(), 100);
  EXPECT_EQ(b.next(), 102);
  EXPECT_EQ(b.messages(), 2u);
}

TEST(PartitionBatch, WithNothingStoredTheFirstMessageSetsTheStart) {
  PartitionBatch b(std::nullopt);
  EXPECT_FALSE(b.start().has_value());
  b.Add(7, Any(), 0);
  EXPECT_EQ(b.start(), 7);
  EXPECT_EQ(b.next(), 8);
}

TEST(PartitionBatch, UndecodableMessagesMoveThePositionButAddNoDecision) {
  PartitionBatch b(0);
  b.Add(0, std::nullopt, 0);
  b.Add(1, Any(), 0);
  EXPECT_EQ(b.next(), 2);
  EXPECT_EQ(b.decisions().size(), 1u);
  EXPECT_EQ(b.undecodable(), 1u);
}

TEST(PartitionBatch, GapsInOffsetsAreCoveredByTheRange) {
  PartitionBatch b(10);
  b.Add(12, Any(), 0);  // 10 and 11 were control records
  EXPECT_EQ(b.start(), 10);
  EXPECT_EQ(b.next(), 13);
}

TEST(PartitionBatch, RedeliveredOffsetsAreIgnored) {
  PartitionBatch b(10);
  b.Add(10, Any(), 0);
  b.Add(10, Any(), 0);
  b.Add(9, Any(), 0);
  EXPECT_EQ(b.messages(), 1u);
}

TEST(PartitionBatch, AfterApplyTheNextBatchStartsWhereThisEnded) {
  PartitionBatch b(0);
  b.Add(0, Any(), 0);
  b.Add(1, Any(), 0);
  b.MarkApplied();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.start(), 2);
  EXPECT_EQ(b.next(), 2);
}

TEST(PartitionBatch, ResetDropsEverythingAndRestartsFromThePosition) {
  PartitionBatch b(0);
  b.Add(0, Any(), 0);
  b.ResetTo(50);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.start(), 50);
  b.Add(40, Any(), 0);  // from before the new position: ignored
  EXPECT_TRUE(b.empty());
}

TEST(PartitionBatch, AgeCountsFromTheOldestMessage) {
  PartitionBatch b(0);
  EXPECT_EQ(b.AgeUs(1000), 0);
  b.Add(0, Any(), 1000);
  b.Add(1, Any(), 5000);
  EXPECT_EQ(b.AgeUs(9000), 8000);
}

}  // namespace
}  // namespace rl::analytics
