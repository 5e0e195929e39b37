// Rate limiting behind real proxies, with no code in the service behind them: Debian's nginx
// (auth_request) and Caddy (forward_auth), started here on free loopback ports with the configs
// shipped in config/nginx and config/caddy, in front of a tiny upstream, asking the gateway's
// GET /proxy/check of a real fleet (limiter, worker, Redis, Kafka). Allowed requests reach the
// upstream; blocked ones get 429 with Retry-After and the RateLimit headers and never reach it;
// with the limiter down the gateway's fail mode answers, with the gateway down the proxy's own
// behaviour; every decision is counted once in the analytics.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every `from` in `text` replaced by `to`; fails the test if there is none.
std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "the shipped config no longer has " << from;
  for (; at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string Binary(const std::vector<std::string>& candidates) {
  for (const std::string& path : candidates) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) return path;
  }
  return "";
}

// The service behind the proxy: counts what reaches it and keeps the last request's headers.
class Upstream {
 public:
  Upstream() : port_(FreePort()) {
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      hits_++;
      {
        const std::lock_guard lock(mu_);
        last_ = req.headers;
      }
      res.set_content("upstream says hello", "text/plain");
    });
    server_.Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      hits_++;
      res.set_content("upstream took it", "text/plain");
    });
    thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Upstream() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  int hits() const { return hits_; }
  std::string LastHeader(const std::string& name) {
    const std::lock_guard lock(mu_);
    auto it = last_.find(name);
    return it == last_.end() ? "" : it->second;
  }

 private:
  int port_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<int> hits_{0};
  std::mutex mu_;
  httplib::Headers last_;
};

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet_ = std::make_unique<Fleet>(
        redis_, SharedKafka().bootstrap(), topic_,
        FleetOptions{.limiters = 1,
                     .workers = 1,
                     .limiter_env = {},
                     .worker_env = {},
                     .gateway_env = {{"TRUSTED_PROXIES", "127.0.0.1"},
                                     {"PROXY_ROUTES", "POST /login=login"},
                                     {"FAIL_MODE", "open"}}});
    gateway_ = "127.0.0.1:" + std::to_string(fleet_->gateway().port());
    upstream_address_ = "127.0.0.1:" + std::to_string(upstream_.port());
    dir_ = MakeTempDir("proxy");
  }

  // nginx with config/nginx/rate-limited-site.conf in a minimal main config; its port.
  int StartNginx() {
    const std::string nginx = Binary({"/usr/sbin/nginx", "/usr/bin/nginx"});
    EXPECT_FALSE(nginx.empty()) << "nginx is missing: scripts/setup installs it";
    const int port = FreePort();
    std::string site = ReadText(SourcePath("config/nginx/rate-limited-site.conf"));
    site = Replaced(site, "listen 8088;", "listen 127.0.0.1:" + std::to_string(port) + ";");
    site = Replaced(site, "127.0.0.1:3000", gateway_);
    site = Replaced(site, "127.0.0.1:8000", upstream_address_);
    std::ofstream(dir_ + "/site.conf") << site;
    std::ofstream(dir_ + "/nginx.conf")
        << "daemon off;\npid " << dir_ << "/nginx.pid;\nerror_log " << dir_
        << "/error.log info;\nevents {}\nhttp {\n  access_log " << dir_ << "/access.log;\n"
        << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_
        << "/proxy;\n  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_
        << "/uwsgi;\n  scgi_temp_path " << dir_ << "/scgi;\n  include " << dir_
        << "/site.conf;\n}\n";
    proxy_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{nginx, "-p", dir_, "-c", dir_ + "/nginx.conf"}, Env{},
        dir_ + "/nginx.log");
    EXPECT_TRUE(WaitForAnswer(port)) << ReadText(dir_ + "/error.log");
    return port;
  }

  // Caddy with config/caddy/Caddyfile (its admin endpoint off); its port.
  int StartCaddy() {
    const std::string caddy = Binary({"/usr/bin/caddy", "/usr/local/bin/caddy"});
    EXPECT_FALSE(caddy.empty()) << "caddy is missing: scripts/setup installs it";
    const int port = FreePort();
    std::string file = ReadText(SourcePath("config/caddy/Caddyfile"));
    file = Replaced(file, ":8089 {", "http://127.0.0.1:" + std::to_string(port) + " {");
    file = Replaced(file, "127.0.0.1:3000", gateway_);
    file = Replaced(file, "127.0.0.1:8000", upstream_address_);
    std::ofstream(dir_ + "/Caddyfile") << "{\n\tadmin off\n}\n" << file;
    proxy_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{caddy, "run", "--config", dir_ + "/Caddyfile", "--adapter",
                                 "caddyfile"},
        Env{{"HOME", dir_}, {"XDG_DATA_HOME", dir_ + "/data"},
            {"XDG_CONFIG_HOME", dir_ + "/config"}},
        dir_ + "/caddy.log");
    EXPECT_TRUE(WaitForAnswer(port)) << proxy_->LogTail();
    return port;
  }

  bool WaitForAnswer(int port) {
    return Eventually(
        [&] {
          httplib::Client client("127.0.0.1", port);
          client.set_connection_timeout(0, 200'000);
          return static_cast<bool>(client.Get("/health-of-the-proxy", {{"X-User-Id", "probe"}}));
        },
        seconds(15));
  }

  // The analytics total of `user`, once the worker has counted `expected` decisions.
  bool AnalyticsCount(const std::string& user, int expected) {
    auto client = fleet_->gateway().Client();
    return Eventually(
        [&] {
          auto res = client->Get("/analytics/" + user);
          if (!res || res->status != 200) return false;
          return json::parse(res->body, nullptr, false).value("total", -1) == expected;
        },
        seconds(20));
  }

  // Six requests of one user against a bucket of five: five reach the upstream, the sixth is
  // refused at the proxy with 429, Retry-After and the RateLimit headers; six decisions counted.
  void FiveAllowedThenOneBlocked(int port, const std::string& user) {
    httplib::Client client("127.0.0.1", port);
    const int before = upstream_.hits();
    for (int i = 0; i < 5; ++i) {
      auto res = client.Get("/page", {{"X-User-Id", user}});
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200) << res->body;
      EXPECT_EQ(res->body, "upstream says hello");
      EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), std::to_string(4 - i));
      EXPECT_FALSE(res->get_header_value("RateLimit").empty());
    }
    EXPECT_EQ(upstream_.hits(), before + 5);
    auto blocked = client.Get("/page", {{"X-User-Id", user}});
    ASSERT_TRUE(blocked);
    EXPECT_EQ(blocked->status, 429) << blocked->body;
    EXPECT_FALSE(blocked->get_header_value("Retry-After").empty());
    EXPECT_EQ(blocked->get_header_value("X-RateLimit-Remaining"), "0");
    EXPECT_FALSE(blocked->get_header_value("RateLimit-Policy").empty());
    EXPECT_NE(blocked->body.find("rate_limited"), std::string::npos) << blocked->body;
    EXPECT_EQ(upstream_.hits(), before + 5) << "a blocked request reached the upstream";
    EXPECT_TRUE(AnalyticsCount(user, 6));
  }

  // The route's action: POST /login is checked as `login`, a bucket of its own.
  void RoutesChooseTheAction(int port, const std::string& user) {
    httplib::Client client("127.0.0.1", port);
    auto login = client.Post("/login", {{"X-User-Id", user}}, "", "text/plain");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->status, 200);
    EXPECT_EQ(login->get_header_value("X-RateLimit-Remaining"), "4");  // not the page's bucket
    auto client_for = fleet_->gateway().Client();
    EXPECT_TRUE(Eventually(
        [&] {
          auto res = client_for->Get("/analytics/" + user);
          return res && json::parse(res->body, nullptr, false)["by_action"].contains("login");
        },
        seconds(20)));
  }

  RedisServer redis_;
  const std::string topic_ =
      std::string("rl.proxy.") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::unique_ptr<Fleet> fleet_;
  Upstream upstream_;
  std::string gateway_, upstream_address_, dir_;
  std::unique_ptr<ChildProcess> proxy_;
};

TEST_F(ProxyTest, BehindNginxAllowedRequestsPassAndBlockedOnesGet429) {
  const int port = StartNginx();
  FiveAllowedThenOneBlocked(port, "nginx-user");
  RoutesChooseTheAction(port, "nginx-user");
}

TEST_F(ProxyTest, BehindCaddyAllowedRequestsPassAndBlockedOnesGet429) {
  const int port = StartCaddy();
  FiveAllowedThenOneBlocked(port, "caddy-user");
  EXPECT_FALSE(upstream_.LastHeader("X-RateLimit-Remaining").empty());  // copy_headers
  RoutesChooseTheAction(port, "caddy-user");
}

// The limiter down: the gateway answers by FAIL_MODE (open here) and publishes that decision;
// the gateway down: nginx answers 500 and Caddy 502, never reaching the upstream (fail closed).
TEST_F(ProxyTest, WithTheLimiterDownTheFailModeAnswersAndWithTheGatewayDownTheProxyRefuses) {
  const int nginx = StartNginx();
  fleet_->KillLimiter(0);
  httplib::Client client("127.0.0.1", nginx);
  const int before = upstream_.hits();
  auto open = client.Get("/page", {{"X-User-Id", "down-user"}});
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 200) << open->body;
  EXPECT_EQ(upstream_.hits(), before + 1);
  EXPECT_TRUE(AnalyticsCount("down-user", 1));  // the gateway's fail_open decision
  fleet_->gateway().process().Signal(SIGKILL);
  fleet_->gateway().process().WaitExit(seconds(10));
  auto no_gateway = client.Get("/page", {{"X-User-Id", "down-user"}});
  ASSERT_TRUE(no_gateway);
  EXPECT_EQ(no_gateway->status, 500);
  EXPECT_EQ(upstream_.hits(), before + 1);
}

TEST_F(ProxyTest, BehindCaddyWithTheGatewayDownRequestsAreRefused) {
  const int caddy = StartCaddy();
  fleet_->gateway().process().Signal(SIGKILL);
  fleet_->gateway().process().WaitExit(seconds(10));
  httplib::Client client("127.0.0.1", caddy);
  const int before = upstream_.hits();
  auto refused = client.Get("/page", {{"X-User-Id", "caddy-down"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 502);
  EXPECT_EQ(upstream_.hits(), before);
}

}  // namespace
}  // namespace rl::testing
