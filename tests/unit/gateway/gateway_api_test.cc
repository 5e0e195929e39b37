#include "gateway_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "limiter_pool.h"

namespace rl::gateway {
namespace {

using nlohmann::json;

httplib::Request Req(const std::string& body, const std::string& type,
                     httplib::Headers headers = {}) {
  httplib::Request req;
  req.body = body;
  req.headers = std::move(headers);
  if (!type.empty()) req.headers.emplace("Content-Type", type);
  return req;
}

TEST(ApiCheckBody, TakesTheUserFromTheBodyFirst) {
  auto body =
      ApiCheckBody(Req(R"({"user_id":"a"})", "application/json", {{"X-User-Id", "b"}}), "api");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(json::parse(body.value()), (json{{"user_id", "a"}, {"action", "api"}}));
}

TEST(ApiCheckBody, ThenFromXUserIdThenFromXApiKey) {
  auto by_header = ApiCheckBody(Req("", "", {{"X-User-Id", "b"}, {"X-API-Key", "k"}}), "api");
  ASSERT_TRUE(by_header.ok());
  EXPECT_EQ(json::parse(by_header.value())["user_id"], "b");
  auto by_key = ApiCheckBody(Req("", "", {{"X-API-Key", "k"}}), "api");
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(json::parse(by_key.value()),
            (json{{"user_id", "k"}, {"api_key", "k"}, {"action", "api"}}));
}

TEST(ApiCheckBody, RejectsMissingMalformedAndInvalidUsers) {
  EXPECT_FALSE(ApiCheckBody(Req("", ""), "api").ok());
  EXPECT_FALSE(ApiCheckBody(Req("{", "application/json"), "api").ok());
  EXPECT_FALSE(ApiCheckBody(Req(R"({"user_id":1})", "application/json"), "api").ok());
  EXPECT_FALSE(ApiCheckBody(Req(R"({"user_id":"a"})", "text/plain"), "api").ok());
  EXPECT_FALSE(ApiCheckBody(Req("", "", {{"X-User-Id", std::string(129, 'x')}}), "api").ok());
}

TEST(ParseLimiterUrls, SplitsTrimsAndValidates) {
  auto urls = ParseLimiterUrls(" http://127.0.0.1:8080, http://limiter-2:8080/ ,");
  ASSERT_TRUE(urls.ok()) << urls.status().message();
  EXPECT_EQ(urls.value(),
            (std::vector<std::string>{"http://127.0.0.1:8080", "http://limiter-2:8080"}));
  EXPECT_FALSE(ParseLimiterUrls("").ok());
  EXPECT_FALSE(ParseLimiterUrls("127.0.0.1:8080").ok());
  EXPECT_FALSE(ParseLimiterUrls("https://x:1").ok());
  EXPECT_FALSE(ParseLimiterUrls("http://x").ok());
}

}  // namespace
}  // namespace rl::gateway
