// GET /proxy/check's pure parts: PROXY_ROUTES, the action of a request, the /check body of a
// proxy's subrequest (nginx's X-Original-*, Caddy's X-Forwarded-*), and whom it counts for.
#include "gateway/proxy_check.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rl::gateway {
namespace {

using nlohmann::json;

TEST(ParseProxyRoutes, ReadsMethodsPathsPrefixesAndActions) {
  auto routes = ParseProxyRoutes("POST /login=login, /api/*=api ,GET /=home,");
  ASSERT_TRUE(routes.ok()) << routes.status().message();
  ASSERT_EQ(routes.value().size(), 3u);
  EXPECT_EQ(routes.value()[0].method, "POST");
  EXPECT_EQ(routes.value()[0].path, "/login");
  EXPECT_FALSE(routes.value()[0].prefix);
  EXPECT_EQ(routes.value()[1].method, "");
  EXPECT_EQ(routes.value()[1].path, "/api/");
  EXPECT_TRUE(routes.value()[1].prefix);
  EXPECT_EQ(routes.value()[2].action, "home");
  EXPECT_TRUE(ParseProxyRoutes("").value().empty());
}

TEST(ParseProxyRoutes, NamesTheEntryThatIsWrong) {
  for (const char* bad : {"/login", "login=x", "post /a=x", "/a*b=x", "/a=bad action",
                          "/a=", "GET  =x"}) {
    auto routes = ParseProxyRoutes(std::string("/ok=ok, ") + bad);
    ASSERT_FALSE(routes.ok()) << bad;
    EXPECT_NE(routes.status().message().find('"'), std::string::npos) << bad;
  }
}

TEST(ProxyAction, TheFirstRouteThatFitsDecidesElseTheDefault) {
  ProxyCheckOptions options;
  options.routes = ParseProxyRoutes("POST /login=login, /api/*=api, /api/health=never").value();
  options.default_action = "web";
  EXPECT_EQ(ProxyAction(options, "POST", "/login"), "login");
  EXPECT_EQ(ProxyAction(options, "GET", "/login"), "web");    // the method differs
  EXPECT_EQ(ProxyAction(options, "POST", "/login/x"), "web");  // exact, not a prefix
  EXPECT_EQ(ProxyAction(options, "GET", "/api/users/7"), "api");
  EXPECT_EQ(ProxyAction(options, "GET", "/api/health"), "api");  // the first that fits
  EXPECT_EQ(ProxyAction(options, "GET", "/apiary"), "web");
}

common::HttpRequestView Subrequest(std::vector<std::pair<std::string_view, std::string_view>> h,
                                   std::string remote = "127.0.0.1") {
  common::HttpRequestView view;
  view.headers = std::move(h);
  view.remote_address = std::move(remote);
  return view;
}

json Body(const common::Result<std::string>& body) {
  EXPECT_TRUE(body.ok()) << body.status().message();
  return body.ok() ? json::parse(body.value()) : json();
}

TEST(ProxyCheckBody, NginxsOriginalRequestAndTheUserHeader) {
  ProxyCheckOptions options;
  options.routes = ParseProxyRoutes("POST /login=login").value();
  const json body = Body(ProxyCheckBody(Subrequest({{"X-Original-Method", "POST"},
                                                    {"X-Original-URI", "/login?next=/home"},
                                                    {"X-User-Id", "alice"}}),
                                        options, {}));
  EXPECT_EQ(body, json({{"action", "login"}, {"cost", 1}, {"user_id", "alice"}}));
}

TEST(ProxyCheckBody, CaddysForwardedRequestAndAnApiKeyAlone) {
  ProxyCheckOptions options;
  options.api_key_header = "X-Key";
  const json body = Body(ProxyCheckBody(Subrequest({{"X-Forwarded-Method", "GET"},
                                                    {"X-Forwarded-Uri", "/files/a"},
                                                    {"X-Key", "key-1"}}),
                                        options, {}));
  EXPECT_EQ(body, json({{"action", "http"}, {"cost", 1}, {"api_key", "key-1"}}));
}

TEST(ProxyCheckBody, TheClientAddressOnlyThroughATrustedProxy) {
  const auto trusted = common::TrustedProxies::Parse("127.0.0.1").value();
  const auto request = Subrequest({{"X-Original-URI", "/"}, {"X-Forwarded-For", "203.0.113.9"}});
  EXPECT_EQ(Body(ProxyCheckBody(request, {}, trusted))["user_id"], "ip:203.0.113.9");
  EXPECT_EQ(Body(ProxyCheckBody(request, {}, {}))["user_id"], "ip:127.0.0.1");  // not trusted
}

TEST(ProxyCheckBody, AMissingOrBrokenOriginalRequestIsAClearError) {
  EXPECT_FALSE(ProxyCheckBody(Subrequest({}), {}, {}).ok());
  EXPECT_FALSE(ProxyCheckBody(Subrequest({{"X-Original-URI", "no-slash"}}), {}, {}).ok());
  EXPECT_FALSE(ProxyCheckBody(Subrequest({{"X-Original-URI", "/"},
                                          {"X-Original-Method", "get me"}}),
                              {}, {})
                   .ok());
  EXPECT_FALSE(
      ProxyCheckBody(Subrequest({{"X-Original-URI", "/"}, {"X-User-Id", "a\x01"}}), {}, {}).ok());
  EXPECT_FALSE(
      ProxyCheckBody(Subrequest({{"X-Original-URI", "/"}, {"X-API-Key", "a b"}}), {}, {}).ok());
}

}  // namespace
}  // namespace rl::gateway
