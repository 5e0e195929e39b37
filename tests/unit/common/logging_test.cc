// LOG_FORMAT=json lines and request ids.
#include "common/base/logging.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/request_id.h"

namespace rl::common {
namespace {

TEST(JsonLogLine, IsOneJsonObjectWithTheRequestIdWhenThereIsOne) {
  auto line = nlohmann::json::parse(
      JsonLogLine("2026-11-24T11:37:00.123Z", "warn", "limiter", "a \"quoted\"\nline", "r-1"));
  EXPECT_EQ(line["ts"], "2026-11-24T11:37:00.123Z");
  EXPECT_EQ(line["level"], "warn");
  EXPECT_EQ(line["service"], "limiter");
  EXPECT_EQ(line["msg"], "a \"quoted\"\nline");
  EXPECT_EQ(line["request_id"], "r-1");
  auto outside = nlohmann::json::parse(JsonLogLine("t", "info", "gateway", "started", ""));
  EXPECT_FALSE(outside.contains("request_id"));
  // Bytes that are not UTF-8 cannot break the line.
  EXPECT_TRUE(nlohmann::json::accept(JsonLogLine("t", "info", "g", "\xff\xfe", "")));
}

TEST(RequestId, OfferedIdsAreKeptOnlyWhenValid) {
  EXPECT_EQ(RequestIdOr("abc-123_x.y:z"), "abc-123_x.y:z");
  for (const std::string bad : {std::string(""), std::string("has space"), std::string(129, 'a'),
                                std::string("new\nline"), std::string("\"quote\"")}) {
    const std::string id = RequestIdOr(bad);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_TRUE(IsValidRequestId(id));
  }
  EXPECT_NE(NewRequestId(), NewRequestId());
  EXPECT_EQ(CurrentRequestId(), "");
  {
    RequestIdScope scope("outer");
    EXPECT_EQ(CurrentRequestId(), "outer");
  }
  EXPECT_EQ(CurrentRequestId(), "");
}

}  // namespace
}  // namespace rl::common
