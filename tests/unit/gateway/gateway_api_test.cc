#include "gateway/gateway_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/http/http.h"
#include "gateway/limiter_pool.h"

namespace rl::gateway {
namespace {

using nlohmann::json;

httplib::Request Req(const std::string& body, const std::string& type,
                     httplib::Headers headers = {}) {
  httplib::Request req;
  req.body = body;
  req.headers = std::move(headers);
  req.remote_addr = "192.0.2.10";
  if (!type.empty()) req.headers.emplace("Content-Type", type);
  return req;
}

common::Result<std::string> ApiCheckBody(const httplib::Request& req, const std::string& action) {
  return gateway::ApiCheckBody(common::ViewOf(req), action, common::TrustedProxies());
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
  EXPECT_EQ(json::parse(by_key.value()), (json{{"api_key", "k"}, {"action", "api"}}));
}

TEST(ApiCheckBody, LimitsAnAnonymousCallerByItsAddress) {
  auto from_peer = ApiCheckBody(Req("", "", {{"X-Forwarded-For", "203.0.113.7"}}), "api");
  ASSERT_TRUE(from_peer.ok());
  EXPECT_EQ(json::parse(from_peer.value())["user_id"], "ip:192.0.2.10");  // peer not trusted
  auto trusted = common::TrustedProxies::Parse("192.0.2.0/24");
  ASSERT_TRUE(trusted.ok());
  auto behind_proxy = gateway::ApiCheckBody(
      common::ViewOf(Req("", "", {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}})), "api",
      trusted.value());
  ASSERT_TRUE(behind_proxy.ok());
  EXPECT_EQ(json::parse(behind_proxy.value())["user_id"], "ip:203.0.113.7");
}

TEST(ApiCheckBody, RejectsMalformedAndInvalidUsers) {
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

namespace rl::gateway {
namespace {

TEST(ApiCheckBody, AnApiKeyIsSentAsTheKeyAloneNeverAsTheUser) {
  auto body = ApiCheckBody(Req("", "", {{"X-API-Key", "sk-secret-1"}}), "api");
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(json::parse(body.value()), (json{{"action", "api"}, {"api_key", "sk-secret-1"}}));
}

TEST(ApiCheckBody, LongApiKeysResolveLikeAnyKey) {
  const std::string key(200, 'k');  // keys may be up to 256 bytes, user ids only 128
  auto body = ApiCheckBody(Req("", "", {{"X-API-Key", key}}), "api");
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(json::parse(body.value())["api_key"], key);
  EXPECT_FALSE(ApiCheckBody(Req("", "", {{"X-API-Key", std::string(257, 'k')}}), "api").ok());
}

}  // namespace
}  // namespace rl::gateway

namespace rl::gateway {
namespace {

TEST(AnalyticsJson, UserBodyHasTheDocumentedShape) {
  analytics::UserAnalytics user;
  user.user_id = "u1";
  user.counts = {3, 2, 1, {{"allowed", 2}, {"blocked", 1}}};
  user.by_action["api.v2:x"] = {2, 1};
  user.last_minutes = {{29923629, 2, 0}, {29923630, 0, 1}};
  user.by_rule["per-user"]["blocked"] = 1;
  EXPECT_EQ(UserAnalyticsJson(user), json::parse(R"({
    "user_id": "u1", "total": 3, "allowed": 2, "blocked": 1,
    "by_action": {"api.v2:x": {"allowed": 2, "blocked": 1}},
    "by_outcome": {"allowed": 2, "blocked": 1},
    "by_rule": {"per-user": {"blocked": 1}},
    "last_minutes": [
      {"minute": "2026-11-23T07:09:00Z", "minute_epoch_s": 1795417740, "allowed": 2, "blocked": 0},
      {"minute": "2026-11-23T07:10:00Z", "minute_epoch_s": 1795417800, "allowed": 0, "blocked": 1}]})"));
  analytics::UserAnalytics nobody;
  nobody.user_id = "nobody";
  EXPECT_EQ(UserAnalyticsJson(nobody), json::parse(R"({
    "user_id": "nobody", "total": 0, "allowed": 0, "blocked": 0, "by_action": {},
    "by_outcome": {}, "by_rule": {}, "last_minutes": []})"));
}

TEST(AnalyticsJson, TheSeriesHasEverySecondWithIsoTimesAndAllowedAgainstBlocked) {
  std::vector<analytics::SecondCounts> seconds = {
      {1795345740, {{"allowed", 5}, {"blocked", 2}, {"shadow_blocked", 1}, {"fail_open", 1}}},
      {1795345741, {}}};
  EXPECT_EQ(SeriesJson(seconds), json::parse(R"({"seconds": [
    {"time": "2026-11-22T11:09:00Z", "epoch_s": 1795345740, "total": 9, "allowed": 7,
     "blocked": 2, "by_outcome": {"allowed": 5, "blocked": 2, "shadow_blocked": 1, "fail_open": 1}},
    {"time": "2026-11-22T11:09:01Z", "epoch_s": 1795345741, "total": 0, "allowed": 0,
     "blocked": 0, "by_outcome": {}}]})"));
  EXPECT_EQ(TopRulesJson({{"per-user", 7}}),
            json::parse(R"({"by": "rule", "rules": [{"rule": "per-user", "blocked": 7}]})"));
}

TEST(AnalyticsJson, LimitersWithoutARecordHaveANullAge) {
  analytics::LimiterRecord dead{"a", 10, 7, 10, 3, "unknown", 0, std::nullopt};
  analytics::LimiterRecord live{"b", 5, 5, 5, 0, "running", 1000, 20};
  json body = LimitersJson({dead, live});
  EXPECT_TRUE(body["limiters"][0]["record_age_ms"].is_null());
  EXPECT_EQ(body["limiters"][1]["record_age_ms"], 20);
  EXPECT_EQ(body["limiters"][0]["missing"], 3);
  EXPECT_EQ(TopBlockedJson({{"u1", 4}}),
            json::parse(R"({"by":"blocked","users":[{"user_id":"u1","blocked":4}]})"));
}

}  // namespace
}  // namespace rl::gateway
