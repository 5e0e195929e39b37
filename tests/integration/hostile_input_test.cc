// Hostile HTTP input on every endpoint of every service: each gets a fast 4xx JSON answer, with
// no crash, no Redis key, no memory growth, and no other client slowed down.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;

struct Hostile {
  std::string name;
  std::string content_type;
  std::string body;
};

std::vector<Hostile> HostileBodies() {
  const std::string json_type = "application/json";
  return {
      {"truncated", json_type, R"({"user_id":"u)"},
      {"trailing_garbage", json_type, R"({"user_id":"u"}})"},
      {"invalid_utf8", json_type, "{\"user_id\":\"\xc3\x28\"}"},
      {"lone_surrogate", json_type, R"({"user_id":"\udc00"})"},
      {"byte_order_mark", json_type, "\xEF\xBB\xBF{\"user_id\":\"u\"}"},
      {"deeply_nested", json_type,
       "{\"user_id\":" + std::string(1900, '[') + std::string(1900, ']') + "}"},
      {"huge_number", json_type, R"({"user_id":"u","cost":1e999999})"},
      {"zero_cost", json_type, R"({"user_id":"u","cost":0})"},
      {"negative_cost", json_type, R"({"user_id":"u","cost":-5})"},
      {"huge_cost", json_type, R"({"user_id":"u","cost":99999999999999999999})"},
      {"wrong_type_user", json_type, R"({"user_id":{"a":1}})"},
      {"null_user", json_type, R"({"user_id":null})"},
      {"duplicate_keys", json_type, R"({"user_id":"a","user_id":"b"})"},
      {"nul_in_user", json_type, "{\"user_id\":\"a\\u0000b\"}"},
      {"long_user", json_type, "{\"user_id\":\"" + std::string(3000, 'u') + "\"}"},
      {"oversized", json_type, "{\"user_id\":\"u\",\"x\":\"" + std::string(8000, 'x') + "\"}"},
      {"wrong_content_type", "text/plain", R"({"user_id":"u"})"},
      {"no_content_type", "", R"({"user_id":"u"})"},
  };
}

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A slow or broken client holds a thread for at most read timeout + keep-alive timeout.
    limiter_ = StartLimiter(redis_, kNoBroker, "rl.hostile",
                            {{"HTTP_READ_TIMEOUT_MS", "1000"},
                             {"HTTP_KEEPALIVE_TIMEOUT_S", "1"},
                             {"KAFKA_FLUSH_TIMEOUT_MS", "100"},
                             {"LIMITER_EVENT_PORT", std::to_string(limiter_event_port_)}});
    gateway_ = std::make_unique<ServiceProcess>(
        "gateway", "GATEWAY_PORT",
        Env{{"LIMITER_URLS", "http://127.0.0.1:" + std::to_string(limiter_->port())},
            {"ANALYTICS_REDIS_URL", redis_.url()},
            {"HTTP_READ_TIMEOUT_MS", "1000"},
            {"GATEWAY_EVENT_PORT", std::to_string(gateway_event_port_)}});
    worker_ = std::make_unique<ServiceProcess>("analytics-worker", "WORKER_PORT",
                                               Env{{"ANALYTICS_REDIS_URL", redis_.url()},
                                                   {"KAFKA_BROKERS", kNoBroker},
                                                   {"HTTP_READ_TIMEOUT_MS", "1000"}});
  }
  std::vector<ServiceProcess*> Services() {
    return {limiter_.get(), gateway_.get(), worker_.get()};
  }

  static void ExpectJson4xx(const httplib::Result& res, const std::string& what) {
    ASSERT_TRUE(res) << what;
    EXPECT_GE(res->status, 400) << what;
    EXPECT_LT(res->status, 500) << what;
    json body = json::parse(res->body, nullptr, false);
    EXPECT_TRUE(body.contains("error") && body["error"].contains("code"))
        << what << ": " << res->body;
  }

  // A client of an event port (the limiter's or the gateway's).
  static std::unique_ptr<httplib::Client> EventClient(int port) {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
    client->set_read_timeout(5, 0);
    return client;
  }

  RedisServer redis_;
  const int limiter_event_port_ = FreePort();
  const int gateway_event_port_ = FreePort();
  std::unique_ptr<ServiceProcess> limiter_, gateway_, worker_;
};

TEST_F(HostileInputTest, MalformedBodiesGetA4xxJsonErrorOnEveryPostEndpoint) {
  auto limiter = limiter_->Client();
  auto gateway = gateway_->Client();
  // The event ports too: the same handlers behind evhttp.
  auto limiter_event = EventClient(limiter_event_port_);
  auto gateway_event = EventClient(gateway_event_port_);
  for (const auto& h : HostileBodies()) {
    auto t0 = std::chrono::steady_clock::now();
    for (auto* client : {limiter.get(), limiter_event.get()}) {
      const std::string port = client == limiter.get() ? "limiter " : "limiter event port ";
      ExpectJson4xx(client->Post("/check", h.body, h.content_type), port + "/check " + h.name);
      ExpectJson4xx(client->Post("/json", h.body, h.content_type), port + "/json " + h.name);
    }
    for (auto* client : {gateway.get(), gateway_event.get()}) {
      const std::string port = client == gateway.get() ? "gateway " : "gateway event port ";
      ExpectJson4xx(client->Post("/check", h.body, h.content_type), port + "/check " + h.name);
      if (h.name.find("cost") ==
          std::string::npos) {  // /api takes only a user: cost is no field of it
        ExpectJson4xx(
            client->Post("/api", h.body, h.content_type.empty() ? "text/plain" : h.content_type),
            port + "/api " + h.name);
      }
    }
    // "Quickly" is the point: a bound, generous for a busy machine (these take ~1 ms each).
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << h.name << " was slow";
  }
  EXPECT_EQ(KeysBesidesTheLedger(redis_), std::vector<std::string>{})
      << "hostile input created Redis keys";
  EXPECT_TRUE(limiter_->process().Running());
  EXPECT_TRUE(gateway_->process().Running());
}

TEST_F(HostileInputTest, WrongMethodsPathsAndHugePathsGetA4xxJsonErrorEverywhere) {
  for (ServiceProcess* service : Services()) {
    auto client = service->Client();
    ExpectJson4xx(client->Get("/no/such/path"), "unknown path");
    ExpectJson4xx(client->Post("/health", "{}", "application/json"), "POST /health");
    ExpectJson4xx(client->Put("/metrics", "{}", "application/json"), "PUT /metrics");
    ExpectJson4xx(client->Delete("/health"), "DELETE /health");
    ExpectJson4xx(client->Get("/" + std::string(20000, 'a')), "20 KB path");
  }
  auto gateway = gateway_->Client();
  ExpectJson4xx(gateway->Get("/analytics/" + std::string(300, 'u')), "long user id");
  ExpectJson4xx(gateway->Get("/analytics/a%00b"), "NUL in user id");
  for (const char* bad :
       {"/analytics/series?seconds=0", "/analytics/series?seconds=901",
        "/analytics/series?seconds=1e3", "/analytics/series?seconds=-1",
        "/analytics/series?seconds=99999999999999999999", "/analytics/top?by=rule&limit=0",
        "/analytics/top?by=%00", "/analytics/top?by=%FF%FE", "/analytics/series?seconds=%C3%28",
        "/analytics/top?limit=%FF"}) {
    ExpectJson4xx(gateway->Get(bad), bad);
  }
  // Bytes that are not UTF-8 (or not printable ASCII, in a key) in headers of POST /api.
  ExpectJson4xx(gateway->Post("/api", {{"X-API-Key", "k\xff\xfe"}}, "", "application/json"),
                "X-API-Key with bytes that are not ASCII");
  ExpectJson4xx(gateway->Post("/api", {{"X-User-Id", "u\xff"}}, "", "application/json"),
                "X-User-Id with bytes that are not UTF-8");
  // GET /proxy/check: a subrequest without its original request, or with a hostile one.
  ExpectJson4xx(gateway->Get("/proxy/check"), "a proxy check without the original URI");
  ExpectJson4xx(gateway->Get("/proxy/check", {{"X-Original-URI", "no-slash"}}), "relative URI");
  ExpectJson4xx(gateway->Get("/proxy/check", {{"X-Original-URI", "/" + std::string(9000, 'a')}}),
                "a 9 KB original URI");
  ExpectJson4xx(gateway->Get("/proxy/check", {{"X-Original-URI", "/"}, {"X-Original-Method", "g t"}}),
                "a method that is no method");
  ExpectJson4xx(gateway->Get("/proxy/check", {{"X-Original-URI", "/"}, {"X-User-Id", "u\xff"}}),
                "a user header that is not UTF-8");
  ExpectJson4xx(gateway->Get("/proxy/check?refused_status=200", {{"X-Original-URI", "/"}}),
                "a refused_status that is not 401 or 403");
  ExpectJson4xx(gateway->Get("/dashboard/assets/../../etc/passwd"), "asset path traversal");
  ExpectJson4xx(gateway->Get("/dashboard/assets/" + std::string(100, 'a')), "long asset name");
  ExpectJson4xx(gateway->Get("/dashboard/assets/nope.js"), "unknown asset");
  // Ids with ':', '{' and '}' are legitimate and get their own, separate buckets.
  auto limiter = limiter_->Client();
  for (const char* user : {"a:b", "a", "{a}", "a}:x"}) {
    auto res = PostCheck(*limiter, json{{"user_id", user}}.dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(json::parse(res->body)["remaining"], 4) << user;  // each its own fresh bucket
  }
}

TEST_F(HostileInputTest, EveryKnownPathAnswersAWrongMethodWith405AndTheMethodsItAllows) {
  struct Known {
    ServiceProcess* service;
    std::string path;
    std::string allow;
  };
  const std::vector<Known> known = {
      {limiter_.get(), "/check", "POST"},
      {limiter_.get(), "/json", "POST"},
      {limiter_.get(), "/live", "GET, HEAD"},
      {limiter_.get(), "/health", "GET, HEAD"},
      {limiter_.get(), "/metrics", "GET, HEAD"},
      {limiter_.get(), "/config", "GET, HEAD"},
      {limiter_.get(), "/healthcheck", "GET, HEAD"},
      {limiter_.get(), "/limits/u1", "GET, HEAD, DELETE"},
      {gateway_.get(), "/check", "POST"},
      {gateway_.get(), "/api", "POST"},
      {gateway_.get(), "/proxy/check", "GET, HEAD"},
      {gateway_.get(), "/analytics", "GET, HEAD"},
      {gateway_.get(), "/analytics/top", "GET, HEAD"},
      {gateway_.get(), "/analytics/series", "GET, HEAD"},
      {gateway_.get(), "/analytics/workers", "GET, HEAD"},
      {gateway_.get(), "/analytics/u1", "GET, HEAD"},
      {gateway_.get(), "/dashboard", "GET, HEAD"},
      {gateway_.get(), "/dashboard/assets/dashboard.js", "GET, HEAD"},
      {gateway_.get(), "/health", "GET, HEAD"},
      {worker_.get(), "/health", "GET, HEAD"},
      {worker_.get(), "/metrics", "GET, HEAD"},
  };
  for (const Known& k : known) {
    auto client = k.service->Client();
    const std::string where = k.service->name() + " " + k.path;
    std::vector<std::pair<std::string, httplib::Result>> wrong;
    if (k.allow.find("GET") == std::string::npos) wrong.emplace_back("GET", client->Get(k.path));
    if (k.allow.find("POST") == std::string::npos) {
      wrong.emplace_back("POST", client->Post(k.path, "{}", "application/json"));
    }
    wrong.emplace_back("PUT", client->Put(k.path, "{}", "application/json"));
    wrong.emplace_back("PATCH", client->Patch(k.path, "{}", "application/json"));
    if (k.allow.find("DELETE") == std::string::npos) {
      wrong.emplace_back("DELETE", client->Delete(k.path));
    }
    for (auto& [method, res] : wrong) {
      ASSERT_TRUE(res) << method << " " << where;
      EXPECT_EQ(res->status, 405) << method << " " << where;
      EXPECT_EQ(res->get_header_value("Allow"), k.allow) << method << " " << where;
      json body = json::parse(res->body, nullptr, false);
      EXPECT_EQ(body["error"]["code"], "method_not_allowed") << method << " " << where;
    }
  }
  EXPECT_EQ(KeysBesidesTheLedger(redis_), std::vector<std::string>{});
}

TEST_F(HostileInputTest, LyingAndEndlessBodiesAreCutOffWithoutHarm) {
  const int port = limiter_->port();
  // Content-Length larger than the body: the read times out (HTTP_READ_TIMEOUT_MS=1000).
  bool closed = false;
  auto t0 = std::chrono::steady_clock::now();
  RawHttp(port,
          "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
          "100\r\n\r\n{\"user_id\":",
          5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);  // cut off: 1 s timeout, generous margin
  // Content-Length smaller than what follows: the rest is a malformed second request.
  std::string reply = RawHttp(port,
                              "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\nContent-Length: 5\r\n\r\n{\"user_id\":\"u\"}",
                              3s);
  EXPECT_NE(reply.find("HTTP/1.1 4"), std::string::npos) << reply;
  // An endless chunked body is refused once past the 4 KiB limit.
  std::string chunked =
      "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: "
      "chunked\r\n\r\n";
  for (int i = 0; i < 200; ++i) chunked += "100\r\n" + std::string(256, 'x') + "\r\n";
  reply = RawHttp(port, chunked, 3s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 4", 0), 0u) << reply.substr(0, 200);
  EXPECT_EQ(KeysBesidesTheLedger(redis_), std::vector<std::string>{});
}

// A garbage request line or a 100 KB header once got "a POST needs a body or Content-Length: 0";
// the message now says what is wrong, on every service, and a bodiless POST keeps its own.
TEST_F(HostileInputTest, AnUnreadableRequestSaysWhatIsWrongWithIt) {
  for (ServiceProcess* service : Services()) {
    const int port = service->port();
    for (const std::string& request :
         {std::string("\x16\x03\x01 garbage\r\n\r\n"),
          "GET /live HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'b') + "\r\n\r\n"}) {
      std::string reply = RawHttp(port, request, 1s);
      EXPECT_EQ(reply.rfind("HTTP/1.1 4", 0), 0u)
          << service->name() << ": " << reply.substr(0, 120);
      EXPECT_NE(reply.find("cannot be read"), std::string::npos)
          << service->name() << ": " << reply.substr(0, 300);
      EXPECT_EQ(reply.find("a POST needs a body"), std::string::npos) << service->name();
    }
    std::string bodiless = RawHttp(port, "POST /check HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
    EXPECT_NE(bodiless.find("a POST needs a body or Content-Length: 0"), std::string::npos)
        << service->name() << ": " << bodiless.substr(0, 300);
  }
}

TEST_F(HostileInputTest, SlowClientsDoNotStarveOthersAndAreCutOff) {
  const int port = limiter_->port();
  // Ten slowloris connections trickling header bytes.
  std::atomic<bool> stop{false};
  std::atomic<int> cut_off{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < 10; ++i) {
    slow.emplace_back([&] {
      bool closed = false;
      RawHttp(port, "POST /check HTTP/1.1\r\nHost: x\r\nX-Slow: ", 5s, &closed);
      if (closed) ++cut_off;
    });
  }
  // Meanwhile normal clients are served as usual.
  auto client = limiter_->Client();
  for (int i = 0; i < 50; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto res = PostCheck(*client, R"({"user_id":"patient"})");
    ASSERT_TRUE(res);
    // Not starved is the point: served in ~1 ms; the bound is generous for a busy machine.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  }
  for (auto& t : slow) t.join();
  EXPECT_EQ(cut_off.load(), 10) << "slow connections must be closed after HTTP_READ_TIMEOUT_MS";
}

TEST_F(HostileInputTest, MoreTricklingClientsThanThreadsDoNotStarveOthers) {
  // Slowloris proper: per service, more connections than HTTP_THREADS (64, the limiter's 32) that
  // each send a header byte every 200 ms, so no read ever times out.
  constexpr int kSlow = 100;
  std::mutex mu;
  std::vector<int> fds;
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    while (!stop) {
      {
        std::lock_guard lock(mu);
        for (int fd : fds) send(fd, "a", 1, MSG_NOSIGNAL);
      }
      std::this_thread::sleep_for(200ms);
    }
  });
  const std::string head = "POST /check HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  for (ServiceProcess* service : Services()) {
    for (int i = 0; i < kSlow; ++i) {
      const int fd = ConnectLoopback(service->port());
      EXPECT_GE(fd, 0) << service->name();
      if (fd < 0) break;
      send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      std::lock_guard lock(mu);
      fds.push_back(fd);
    }
  }
  for (ServiceProcess* service : Services()) {
    auto client = service->Client();
    EXPECT_TRUE(
        Eventually([&] { return MetricValue(*client, "rl_http_busy_threads") > kSlow; }, 10s))
        << service->name() << ": " << MetricValue(*client, "rl_http_busy_threads");
    // Everyone else is served as usual meanwhile.
    for (int i = 0; i < 20; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto res = client->Get("/metrics");
      EXPECT_TRUE(res && res->status == 200) << service->name();
      // Not starved is the point: ~1 ms normally; generous for a busy machine.
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << service->name();
    }
    EXPECT_EQ(MetricValue(*client, "rl_http_connections_waited_total"), 0) << service->name();
  }
  stop = true;
  trickle.join();
  for (int fd : fds) close(fd);
}

TEST_F(HostileInputTest, ThousandsOfHostileRequestsDoNotGrowMemory) {
  auto client = limiter_->Client();
  auto event_client = EventClient(limiter_event_port_);  // both ports, in turn
  auto bodies = HostileBodies();
  auto send = [&](int i) {  // each body with its own content type, as in the table
    const Hostile& h = bodies[i % bodies.size()];
    (i % 2 ? client : event_client)->Post("/check", h.body, h.content_type);
  };
  for (int i = 0; i < 300; ++i) send(i);
  const int64_t before = RssKib(limiter_->process().pid());
  for (int i = 0; i < 5000; ++i) send(i);
  const int64_t after = RssKib(limiter_->process().pid());
  EXPECT_LT(after - before, 8 * 1024)
      << "RSS grew from " << before << " KiB to " << after << " KiB";
  EXPECT_EQ(KeysBesidesTheLedger(redis_), std::vector<std::string>{});
}

TEST(SlowRequests, TricklingRequestsGetA408JsonAnswerAfterTheRequestTimeout) {
  RedisServer redis;
  auto limiter =
      StartLimiter(redis, kNoBroker, "rl.slow",
                   {{"HTTP_REQUEST_TIMEOUT_MS", "1000"}, {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  std::vector<std::unique_ptr<ServiceProcess>> services;
  services.push_back(std::make_unique<ServiceProcess>(
      "gateway", "GATEWAY_PORT",
      Env{{"LIMITER_URLS", "http://127.0.0.1:" + std::to_string(limiter->port())},
          {"ANALYTICS_REDIS_URL", redis.url()},
          {"HTTP_REQUEST_TIMEOUT_MS", "1000"}}));
  services.push_back(std::make_unique<ServiceProcess>("analytics-worker", "WORKER_PORT",
                                                      Env{{"ANALYTICS_REDIS_URL", redis.url()},
                                                          {"KAFKA_BROKERS", kNoBroker},
                                                          {"HTTP_REQUEST_TIMEOUT_MS", "1000"}}));
  services.push_back(std::move(limiter));

  // Per service: headers a byte at a time, and a body a byte at a time.
  struct Trickler {
    ServiceProcess* service;
    int fd;
    std::string received;
    bool closed = false;
  };
  std::vector<Trickler> tricklers;
  for (auto& service : services) {
    for (const std::string head : {"POST /check HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                                   "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                   "application/json\r\nContent-Length: 3000\r\n\r\n{"}) {
      const int fd = ConnectLoopback(service->port());
      ASSERT_GE(fd, 0);
      send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      tricklers.push_back({service.get(), fd});
    }
  }
  // A keep-alive client with a request every 300 ms is never cut off.
  auto patient = services.back()->Client();
  const auto start = std::chrono::steady_clock::now();
  int patient_ok = 0;
  while (std::chrono::steady_clock::now() - start < 5s) {
    bool all_closed = true;
    for (Trickler& t : tricklers) {
      if (t.closed) continue;
      all_closed = false;
      send(t.fd, " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      char buf[1024];
      ssize_t n;
      while ((n = recv(t.fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) t.received.append(buf, n);
      if (n == 0) t.closed = true;
    }
    if (all_closed) break;
    patient_ok += PostCheck(*patient, R"({"user_id":"patient"})")->status == 200;
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s) << "1 s timeout, scans every 0.5 s";
  EXPECT_GE(patient_ok, 3);
  for (Trickler& t : tricklers) {
    EXPECT_TRUE(t.closed) << t.service->name();
    EXPECT_EQ(t.received.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u)
        << t.service->name() << ": " << t.received;
    const auto body =
        json::parse(t.received.substr(t.received.find("\r\n\r\n") + 4), nullptr, false);
    EXPECT_EQ(body["error"]["code"], "request_timeout") << t.service->name();
    close(t.fd);
  }
  for (auto& service : services) {
    EXPECT_EQ(MetricValue(*service->Client(), "rl_http_requests_timed_out_total"), 2)
        << service->name();
    EXPECT_NE(service->process().LogTail().find("not complete after HTTP_REQUEST_TIMEOUT_MS"),
              std::string::npos)
        << service->name();
  }
}

TEST(Tokens, CheckTokenProtectsCheckAndAnalyticsTokenProtectsAnalytics) {
  RedisServer redis;
  auto limiter = StartLimiter(redis, kNoBroker, "rl.tokens",
                              {{"CHECK_TOKEN", "check-secret"}, {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  auto gateway = std::make_unique<ServiceProcess>(
      "gateway", "GATEWAY_PORT",
      Env{{"LIMITER_URLS", "http://127.0.0.1:" + std::to_string(limiter->port())},
          {"ANALYTICS_REDIS_URL", redis.url()},
          {"CHECK_TOKEN", "check-secret"},
          {"ANALYTICS_TOKEN", "analytics-secret"}});
  auto direct = limiter->Client();
  const std::string body = R"({"user_id":"u"})";
  EXPECT_EQ(PostCheck(*direct, body)->status, 401);
  EXPECT_EQ(
      direct->Post("/check", {{"Authorization", "Bearer nope"}}, body, "application/json")->status,
      401);
  EXPECT_EQ(
      direct->Post("/check", {{"Authorization", "Bearer check-secret"}}, body, "application/json")
          ->status,
      200);

  auto front = gateway->Client();
  EXPECT_EQ(PostCheck(*front, body)->status, 401);
  EXPECT_EQ(
      front->Post("/check", {{"Authorization", "Bearer check-secret"}}, body, "application/json")
          ->status,
      200);
  EXPECT_EQ(front->Post("/api", {{"X-User-Id", "v"}}, "", "application/json")->status,
            200);  // public
  EXPECT_EQ(front->Get("/analytics")->status, 401);
  EXPECT_EQ(front->Get("/analytics/u")->status, 401);
  EXPECT_EQ(front->Get("/analytics/series")->status, 401);
  EXPECT_EQ(front->Get("/analytics/workers")->status, 401);
  EXPECT_EQ(front->Get("/analytics/top?by=rule")->status, 401);
  // The dashboard page holds no data: it is served to anyone and asks for the token.
  EXPECT_EQ(front->Get("/dashboard")->status, 200);
  EXPECT_EQ(front->Get("/analytics/u", {{"Authorization", "Bearer analytics-secret"}})->status,
            200);
  for (auto* p : {&limiter->process(), &gateway->process()}) {
    std::string log = p->LogTail(100000);
    EXPECT_EQ(log.find("check-secret"), std::string::npos);
    EXPECT_EQ(log.find("analytics-secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace rl::testing
