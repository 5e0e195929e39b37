#include "common/base/status.h"

#include <gtest/gtest.h>

namespace rl::common {
namespace {

TEST(Result, AnOkStatusWithoutAValueIsAnInternalErrorNotAValue) {
  Result<int> r(Status::Ok());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
}

TEST(Result, ReadingTheValueOfAFailedResultStopsTheProcessWithItsError) {
  Result<int> r(Status::Unavailable("redis down"));
  EXPECT_DEATH((void)r.value(), "value\\(\\) of a failed Result: redis down");
}

TEST(Result, AValueIsThere) {
  Result<std::string> r(std::string("x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "x");
  EXPECT_EQ(r->size(), 1u);
}

}  // namespace
}  // namespace rl::common
