// Envoy's rate limit service (gRPC ShouldRateLimit) against a real limiter, redis-server and Kafka
// broker, with a limits file in Envoy ratelimit's own format. The client is the gRPC stub generated
// from the re-declared protos (Envoy's package names and field numbers).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <atomic>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "tests/support/support.h"

namespace rl::testing {
namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;
using nlohmann::json;

const char* kConfig = R"(
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: path
    value: /login
    rate_limit: {unit: hour, requests_per_unit: 2, name: login}
  - key: path
    rate_limit: {unit: second, requests_per_unit: 100}
  - key: source_cluster
    value: proxy
    descriptors:
      - key: destination_cluster
        rate_limit: {unit: minute, requests_per_unit: 1}
  - key: internal
    rate_limit: {unlimited: true}
  - key: files
    value: files/*
    share_threshold: true
    rate_limit: {unit: minute, requests_per_unit: 2}
  - key: plan
    value: basic
    rate_limit: {unit: minute, requests_per_unit: 1, name: basic}
  - key: plan
    value: premium
    rate_limit:
      unit: minute
      requests_per_unit: 100
      name: premium
      replaces: [{name: basic}]
)";

class RlsIntegrationTest : public ::testing::Test {
 protected:
  std::unique_ptr<ServiceProcess> Start(Env extra = {}) {
    // Counting down per-minute limits: never across a full minute (a grpcurl test failed once
    // with its fourth call just past one).
    AwayFromAMinuteBoundary();
    std::string dir = MakeTempDir("rls");
    std::ofstream(dir + "/edge.yaml") << kConfig;
    grpc_port_ = FreePort();
    extra.emplace("LIMITS_FILE", dir + "/edge.yaml");
    extra.emplace("GRPC_PORT", std::to_string(grpc_port_));
    auto limiter = StartLimiter(redis_, SharedKafka().bootstrap(), topic_, extra);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = RateLimitService::NewStub(channel_);
    return limiter;
  }

  // One ShouldRateLimit call with the given descriptors (each a list of key/value entries).
  grpc::Status Call(
      const std::string& domain,
      const std::vector<std::vector<std::pair<std::string, std::string>>>& descriptors,
      RateLimitResponse* response, uint32_t hits_addend = 0) {
    RateLimitRequest request;
    request.set_domain(domain);
    request.set_hits_addend(hits_addend);
    for (const auto& entries : descriptors) {
      auto* d = request.add_descriptors();
      for (const auto& [key, value] : entries) {
        auto* e = d->add_entries();
        e->set_key(key);
        e->set_value(value);
      }
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub_->ShouldRateLimit(&context, request, response);
  }

  int64_t DescriptorKeys() {
    return static_cast<int64_t>(redis_.Must({"KEYS", "rl:d:*"}).elements.size());
  }

  RedisServer redis_;
  const std::string topic_ =
      std::string("rl.rls.") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  int grpc_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<RateLimitService::Stub> stub_;
};

TEST_F(RlsIntegrationTest, DescriptorsCountDownThenGoOverLimitWithTheReferencesFields) {
  // With the extension on, the answer carries POST /check's RateLimit headers too.
  auto limiter = Start({{"RLS_EXTENDED_HEADERS", "true"}});
  for (uint32_t expected_remaining : {2u, 1u, 0u}) {
    RateLimitResponse r;
    ASSERT_TRUE(Call("edge", {{{"remote_address", "10.0.0.1"}}}, &r).ok());
    EXPECT_EQ(r.overall_code(), RateLimitResponse::OK);
    ASSERT_EQ(r.statuses_size(), 1);
    const auto& s = r.statuses(0);
    EXPECT_EQ(s.code(), RateLimitResponse::OK);
    EXPECT_EQ(s.current_limit().requests_per_unit(), 3u);
    EXPECT_EQ(s.current_limit().unit(), RateLimitResponse::RateLimit::MINUTE);
    EXPECT_EQ(s.limit_remaining(), expected_remaining);
    EXPECT_GT(
        s.duration_until_reset().seconds() * 1000 + s.duration_until_reset().nanos() / 1000000, 0);
  }
  RateLimitResponse over;
  ASSERT_TRUE(Call("edge", {{{"remote_address", "10.0.0.1"}}}, &over).ok());
  EXPECT_EQ(over.overall_code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(over.statuses(0).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(over.statuses(0).limit_remaining(), 0u);
  bool has_ratelimit_header = false, has_retry_after = false;
  for (const auto& h : over.response_headers_to_add()) {
    has_ratelimit_header = has_ratelimit_header || h.key() == "RateLimit";
    has_retry_after = has_retry_after || h.key() == "Retry-After";
  }
  EXPECT_TRUE(has_ratelimit_header);
  EXPECT_TRUE(has_retry_after);
  // Another address has its own counter (a key-only match counts per value).
  RateLimitResponse other;
  ASSERT_TRUE(Call("edge", {{{"remote_address", "10.0.0.2"}}}, &other).ok());
  EXPECT_EQ(other.statuses(0).limit_remaining(), 2u);
}

TEST_F(RlsIntegrationTest, MatchingFollowsTheReferenceAndEveryDescriptorGetsItsStatus) {
  auto limiter = Start();
  RateLimitResponse r;
  ASSERT_TRUE(Call("edge",
                   {{{"path", "/login"}},
                    {{"path", "/search"}},
                    {{"source_cluster", "proxy"}, {"destination_cluster", "db"}},
                    {{"internal", "yes"}},
                    {{"unknown", "x"}}},
                   &r)
                  .ok());
  ASSERT_EQ(r.statuses_size(), 5);
  EXPECT_EQ(r.statuses(0).current_limit().name(), "login");  // the exact value first
  EXPECT_EQ(r.statuses(0).current_limit().requests_per_unit(), 2u);
  EXPECT_EQ(r.statuses(0).current_limit().unit(), RateLimitResponse::RateLimit::HOUR);
  EXPECT_EQ(r.statuses(1).current_limit().requests_per_unit(), 100u);  // the key alone
  EXPECT_EQ(r.statuses(2).current_limit().requests_per_unit(), 1u);    // nested
  EXPECT_FALSE(r.statuses(3).has_current_limit());                     // unlimited
  EXPECT_EQ(r.statuses(3).code(), RateLimitResponse::OK);
  EXPECT_FALSE(r.statuses(4).has_current_limit());  // no match: no limit
  EXPECT_EQ(r.overall_code(), RateLimitResponse::OK);
  // The nested limit of 1 a minute is now used up: that descriptor alone goes over.
  RateLimitResponse again;
  ASSERT_TRUE(
      Call("edge",
           {{{"path", "/search"}}, {{"source_cluster", "proxy"}, {"destination_cluster", "db"}}},
           &again)
          .ok());
  EXPECT_EQ(again.statuses(0).code(), RateLimitResponse::OK);
  EXPECT_EQ(again.statuses(1).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(again.overall_code(), RateLimitResponse::OVER_LIMIT);
}

TEST_F(RlsIntegrationTest, AWildcardWithShareThresholdCountsEveryValueItMatchesTogether) {
  auto limiter = Start();
  std::vector<uint32_t> remaining;
  std::vector<RateLimitResponse::Code> codes;
  for (const char* file : {"files/a.pdf", "files/b.pdf", "files/c.pdf"}) {
    RateLimitResponse r;
    ASSERT_TRUE(Call("edge", {{{"files", file}}}, &r).ok());
    remaining.push_back(r.statuses(0).limit_remaining());
    codes.push_back(r.statuses(0).code());
  }
  EXPECT_EQ(remaining, (std::vector<uint32_t>{1, 0, 0}));
  EXPECT_EQ(codes.back(), RateLimitResponse::OVER_LIMIT);
}

TEST_F(RlsIntegrationTest, ALimitThatReplacesAnotherLeavesThatDescriptorUnlimited) {
  auto limiter = Start();
  for (int i = 0; i < 3; ++i) {
    RateLimitResponse r;
    ASSERT_TRUE(Call("edge", {{{"plan", "basic"}}, {{"plan", "premium"}}}, &r).ok());
    EXPECT_EQ(r.overall_code(), RateLimitResponse::OK) << i;
    EXPECT_FALSE(r.statuses(0).has_current_limit());  // replaced: no limit
    EXPECT_EQ(r.statuses(1).current_limit().name(), "premium");
    EXPECT_EQ(r.statuses(1).limit_remaining(), static_cast<uint32_t>(99 - i));
  }
  // Alone, the basic limit applies: 1 a minute.
  RateLimitResponse alone;
  ASSERT_TRUE(Call("edge", {{{"plan", "basic"}}}, &alone).ok());
  EXPECT_EQ(alone.statuses(0).code(), RateLimitResponse::OK);
  ASSERT_TRUE(Call("edge", {{{"plan", "basic"}}}, &alone).ok());
  EXPECT_EQ(alone.statuses(0).code(), RateLimitResponse::OVER_LIMIT);
}

TEST_F(RlsIntegrationTest, ADescriptorsOwnLimitOverridesTheConfig) {
  auto limiter = Start();
  auto call = [&](RateLimitResponse* r) {
    RateLimitRequest request;
    request.set_domain("edge");
    auto* d = request.add_descriptors();
    auto* e = d->add_entries();
    e->set_key("tenant");  // no config matches it: only the override limits it
    e->set_value("t1");
    d->mutable_limit()->set_requests_per_unit(2);
    d->mutable_limit()->set_unit(envoy::type::v3::MINUTE);
    grpc::ClientContext context;
    return stub_->ShouldRateLimit(&context, request, r);
  };
  RateLimitResponse r;
  ASSERT_TRUE(call(&r).ok());
  EXPECT_EQ(r.statuses(0).current_limit().requests_per_unit(), 2u);
  EXPECT_EQ(r.statuses(0).current_limit().unit(), RateLimitResponse::RateLimit::MINUTE);
  EXPECT_EQ(r.statuses(0).limit_remaining(), 1u);
  ASSERT_TRUE(call(&r).ok());
  ASSERT_TRUE(call(&r).ok());
  EXPECT_EQ(r.overall_code(), RateLimitResponse::OVER_LIMIT);
}

TEST_F(RlsIntegrationTest, HitsAddendCountsThatManyHits) {
  auto limiter = Start();
  RateLimitResponse r;
  ASSERT_TRUE(Call("edge", {{{"remote_address", "10.9.9.9"}}}, &r, 2).ok());
  EXPECT_EQ(r.statuses(0).limit_remaining(), 1u);
  ASSERT_TRUE(Call("edge", {{{"remote_address", "10.9.9.9"}}}, &r, 2).ok());
  EXPECT_EQ(r.statuses(0).code(), RateLimitResponse::OVER_LIMIT);
}

// hits_addend as envoyproxy/ratelimit reads it (src/utils/utilities.go GetHitsAddends): a
// descriptor's 0 checks without counting, the request's 0 means 1, and any count above the limit
// is OVER_LIMIT with its current_limit, an event, rl_decisions_total and the over-limit
// statistics, its hits counted as the reference counts them. Before, 4294967295 and a
// descriptor's 0 answered INVALID_ARGUMENT (which Envoy's
// default failure_mode_deny: false lets through), and 4 against a limit of 3 answered
// OVER_LIMIT with no current_limit, no event and no statistics.
TEST_F(RlsIntegrationTest, HitsAddendEdgeCasesAreDecisionsAsTheReferenceAnswersThem) {
  auto limiter = Start();
  auto client = limiter->Client();
  auto call = [&](const std::string& address, std::optional<uint64_t> descriptor_hits,
                  uint32_t request_hits) {
    RateLimitRequest request;
    request.set_domain("edge");
    request.set_hits_addend(request_hits);
    auto* d = request.add_descriptors();
    auto* e = d->add_entries();
    e->set_key("remote_address");
    e->set_value(address);
    if (descriptor_hits) d->mutable_hits_addend()->set_value(*descriptor_hits);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    RateLimitResponse response;
    grpc::Status status = stub_->ShouldRateLimit(&context, request, &response);
    EXPECT_TRUE(status.ok()) << address << ": " << status.error_message();
    return response;
  };
  const std::string over_hits =
      R"(rl_descriptor_over_limit_hits_total{descriptor="remote_address",domain="edge"})";
  const std::string blocked = R"(rl_decisions_total{outcome="blocked"})";
  auto metric = [&](const std::string& sample) {
    return std::max(0.0, MetricValue(*client, sample));
  };
  // A descriptor's 0: checked, not counted.
  RateLimitResponse zero = call("10.1.0.1", 0, 0);
  EXPECT_EQ(zero.overall_code(), RateLimitResponse::OK);
  EXPECT_EQ(zero.statuses(0).limit_remaining(), 3u);
  EXPECT_EQ(zero.statuses(0).current_limit().requests_per_unit(), 3u);
  EXPECT_EQ(call("10.1.0.1", std::nullopt, 0).statuses(0).limit_remaining(), 2u);  // 0 means 1
  EXPECT_EQ(call("10.1.0.1", 0, 5).statuses(0).limit_remaining(), 2u);  // the descriptor's wins
  // Far above the limit, and just above it: over the limit, as decisions.
  for (const auto& [address, hits] :
       std::vector<std::pair<std::string, uint32_t>>{{"10.1.0.2", 4294967295u}, {"10.1.0.3", 4}}) {
    const double over_before = metric(over_hits), blocked_before = metric(blocked);
    RateLimitResponse over = call(address, std::nullopt, hits);
    EXPECT_EQ(over.overall_code(), RateLimitResponse::OVER_LIMIT) << address;
    ASSERT_EQ(over.statuses_size(), 1);
    EXPECT_EQ(over.statuses(0).code(), RateLimitResponse::OVER_LIMIT);
    EXPECT_EQ(over.statuses(0).current_limit().requests_per_unit(), 3u) << address;
    EXPECT_EQ(over.statuses(0).current_limit().unit(), RateLimitResponse::RateLimit::MINUTE);
    EXPECT_EQ(over.statuses(0).limit_remaining(), 0u);
    EXPECT_EQ(metric(blocked), blocked_before + 1) << address;
    EXPECT_GT(metric(over_hits), over_before) << address;
    // Charged, as the reference counts hits over the limit: the window is used up for what
    // follows (src/limiter/base_limiter.go).
    EXPECT_EQ(call(address, std::nullopt, 1).overall_code(), RateLimitResponse::OVER_LIMIT)
        << address;
  }
  // As the reference counts them: 4294967295 - 3 and 4 - 3 hits over the limit, and the one hit
  // of each request after them.
  EXPECT_EQ(metric(over_hits), 4294967295.0 - 3 + 1 + 1 + 1);
  auto events = ReadDecisions(SharedKafka().bootstrap(), topic_, 7, std::chrono::seconds(20));
  int blocked_events = 0;
  for (const auto& e : events) blocked_events += e.outcome() == events::v1::OUTCOME_BLOCKED;
  EXPECT_EQ(events.size(), 7u);
  EXPECT_EQ(blocked_events, 4);
}

TEST_F(RlsIntegrationTest, BadRequestsAreInvalidArgumentsAndCreateNoKey) {
  auto limiter = Start();
  RateLimitResponse r;
  const std::string huge(5000, 'v');
  std::vector<std::vector<std::pair<std::string, std::string>>> many(65, {{"k", "v"}});
  struct Case {
    const char* name;
    grpc::Status status;
  };
  const std::vector<Case> cases = {
      {"empty domain", Call("", {{{"remote_address", "1"}}}, &r)},
      {"no descriptor", Call("edge", {}, &r)},
      {"empty descriptor", Call("edge", {{}}, &r)},
      {"entry without a key", Call("edge", {{{"", "v"}}}, &r)},
      {"huge value", Call("edge", {{{"remote_address", huge}}}, &r)},
      {"65 descriptors", Call("edge", many, &r)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
  }
  // 10,000 descriptors are refused by the message size limit before any work.
  std::vector<std::vector<std::pair<std::string, std::string>>> flood(10000,
                                                                      {{"remote_address", "1"}});
  EXPECT_EQ(Call("edge", flood, &r).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(DescriptorKeys(), 0);
}

TEST_F(RlsIntegrationTest, FailModesAnswerOkOrOverLimitWithinTheTimeout) {
  auto open = Start({{"FAIL_MODE", "open"}, {"REDIS_TIMEOUT_MS", "100"}});
  redis_.Pause();
  const auto t0 = std::chrono::steady_clock::now();
  RateLimitResponse r;
  const grpc::Status status = Call("edge", {{{"remote_address", "10.0.0.7"}}}, &r);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  redis_.Resume();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(r.overall_code(), RateLimitResponse::OK);
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  open.reset();

  auto closed = Start({{"FAIL_MODE", "closed"}, {"REDIS_TIMEOUT_MS", "100"}});
  redis_.Pause();
  const grpc::Status refused = Call("edge", {{{"remote_address", "10.0.0.8"}}}, &r);
  redis_.Resume();
  ASSERT_TRUE(refused.ok()) << refused.error_message();
  EXPECT_EQ(r.overall_code(), RateLimitResponse::OVER_LIMIT);
}

// Calls from many clients at once are spread over the event loops and pipelined to Redis: every
// one is answered and the limit is exact.
TEST_F(RlsIntegrationTest, ConcurrentCallsOnEveryLoopAreCountedExactly) {
  auto limiter = Start({{"LIMITER_THREADS", "2"}});
  std::atomic<int> ok{0}, over{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        RateLimitResponse r;
        if (!Call("edge", {{{"plan", "premium"}}}, &r).ok()) {
          ++failed;
        } else {
          ++(r.overall_code() == RateLimitResponse::OK ? ok : over);
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(ok.load(), 100);  // premium: 100 a minute
  EXPECT_EQ(over.load(), 50);
}

// A client that gives up before Redis answers (its deadline, Envoy's timeout) is not answered,
// and the limiter keeps serving: nothing of the abandoned calls is touched after they are gone.
TEST_F(RlsIntegrationTest, CallsWhoseClientsGaveUpLeaveTheLimiterServing) {
  auto limiter = Start({{"REDIS_TIMEOUT_MS", "400"}, {"FAIL_MODE", "closed"}});
  redis_.Pause();
  std::vector<std::thread> impatient;
  std::atomic<int> deadline_exceeded{0};
  for (int c = 0; c < 8; ++c) {
    impatient.emplace_back([&, c] {
      RateLimitRequest request;
      request.set_domain("edge");
      auto* entry = request.add_descriptors()->add_entries();
      entry->set_key("remote_address");
      entry->set_value("10.9.0." + std::to_string(c));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(50));
      RateLimitResponse r;
      if (stub_->ShouldRateLimit(&context, request, &r).error_code() ==
          grpc::StatusCode::DEADLINE_EXCEEDED) {
        ++deadline_exceeded;
      }
    });
  }
  for (auto& client : impatient) client.join();
  EXPECT_EQ(deadline_exceeded.load(), 8);
  // The limiter's own deadline passes for them meanwhile (fail closed), with no one to answer.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  redis_.Resume();
  // Answered by the fail mode until the breaker of the timeouts closes again; then decided, and
  // the first decided call finds its bucket untouched.
  RateLimitResponse r;
  ASSERT_TRUE(Eventually(
      [&] {
        return Call("edge", {{{"remote_address", "10.9.1.1"}}}, &r).ok() &&
               r.overall_code() == RateLimitResponse::OK;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(r.statuses(0).limit_remaining(), 2u);
  EXPECT_TRUE(limiter->process().Running());
}

TEST_F(RlsIntegrationTest, EveryDescriptorDecisionIsAnEventForTheConfiguredUserKey) {
  auto limiter = Start();
  RateLimitResponse r;
  ASSERT_TRUE(Call("edge", {{{"remote_address", "192.0.2.10"}}, {{"path", "/login"}}}, &r).ok());
  auto events = ReadDecisions(SharedKafka().bootstrap(), topic_, 2, std::chrono::seconds(20));
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> users;
  for (const auto& e : events) users.insert(e.user_id());
  // remote_address names the user; a descriptor without a user key is named by itself.
  EXPECT_TRUE(users.count("192.0.2.10"));
  EXPECT_TRUE(users.count("edge:path=/login"));
}

TEST_F(RlsIntegrationTest, PostJsonTakesTheSameRequestAsJsonOverHttp) {
  auto limiter = Start();
  auto client = limiter->Client();
  const std::string body =
      R"({"domain":"edge","descriptors":[{"entries":[{"key":"remote_address","value":"198.51.100.1"}]}]})";
  for (int remaining : {2, 1, 0}) {
    auto res = client->Post("/json", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    auto answer = Body(res);
    EXPECT_EQ(answer["overallCode"], "OK") << res->body;
    EXPECT_EQ(answer["statuses"][0]["currentLimit"]["requestsPerUnit"], 3);
    EXPECT_EQ(answer["statuses"][0].value("limitRemaining", 0), remaining);
  }
  auto over = client->Post("/json", body, "application/json");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 429);  // as the reference service answers OVER_LIMIT on /json
  EXPECT_EQ(Body(over)["overallCode"], "OVER_LIMIT");
  auto bad = client->Post("/json", "{\"domain\": 7", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Body(bad)["error"]["code"], "invalid_json");
  auto empty = client->Post("/json", R"({"descriptors":[]})", "application/json");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  EXPECT_EQ(Body(empty)["error"]["code"], "invalid_argument");
}

TEST_F(RlsIntegrationTest, ADirectoryHoldsOneDomainPerFileBesideTheRulesAndReloadsLive) {
  const std::string dir = MakeTempDir("rls-dir");
  std::ofstream(dir + "/a-edge.yaml") << kConfig;
  std::ofstream(dir + "/b-mongo.yaml")
      << "domain: mongo\ndescriptors:\n  - key: database\n    rate_limit: {unit: second, "
         "requests_per_unit: 7}\n";
  std::ofstream(dir + "/rules.yaml")
      << "version: own\nrules:\n  - {name: per-user, limit: 2, window: 1h, algorithm: "
         "fixed_window}\n";
  std::ofstream(dir + "/notes.txt") << "not a limits file";
  auto limiter = Start({{"LIMITS_FILE", dir}, {"LIMITS_RELOAD_INTERVAL_MS", "200"}});
  RateLimitResponse r;
  ASSERT_TRUE(Call("mongo", {{{"database", "users"}}}, &r).ok());
  EXPECT_EQ(r.statuses(0).current_limit().requests_per_unit(), 7u);
  ASSERT_TRUE(Call("edge", {{{"remote_address", "10.4.4.4"}}}, &r).ok());
  EXPECT_EQ(r.statuses(0).current_limit().requests_per_unit(), 3u);
  // The project's own rules still decide POST /check.
  auto client = limiter->Client();
  EXPECT_EQ(Body(PostCheck(*client, R"({"user_id":"dir-user"})"))["limit"], 2);
  // A changed file is picked up live.
  std::ofstream(dir + "/b-mongo.yaml")
      << "domain: mongo\ndescriptors:\n  - key: database\n    rate_limit: {unit: second, "
         "requests_per_unit: 9}\n";
  EXPECT_TRUE(Eventually(
      [&] {
        RateLimitResponse again;
        return Call("mongo", {{{"database", "orders"}}}, &again).ok() &&
               again.statuses(0).current_limit().requests_per_unit() == 9u;
      },
      10s));
  // A second file with the same domain is refused; the old policy keeps serving.
  std::ofstream(dir + "/c-dup.yaml") << "domain: mongo\ndescriptors: []\n";
  EXPECT_TRUE(Eventually(
      [&] { return MetricValue(*client, "rl_policy_reloads_total{result=\"rejected\"}") >= 1; },
      10s));
  ASSERT_TRUE(Call("mongo", {{{"database", "x"}}}, &r).ok());
  EXPECT_EQ(r.statuses(0).current_limit().requests_per_unit(), 9u);
  // GET /config shows the domains too (it showed only the rules).
  std::filesystem::remove(dir + "/c-dup.yaml");
  ASSERT_TRUE(Eventually(
      [&] {
        const json config = Body(client->Get("/config"));
        return config.contains("domains") && config["domains"].contains("mongo") &&
               config["domains"]["edge"]["source"] == dir + "/a-edge.yaml";
      },
      10s))
      << client->Get("/config")->body;
  // The own-format file renamed away (mv rules.yaml rules.yaml.bak): its rules stay in force,
  // with rl_policy_missing_files at 1. This once reloaded as 0 rules: every /check unlimited.
  std::filesystem::rename(dir + "/rules.yaml", dir + "/rules.yaml.bak");
  ASSERT_TRUE(
      Eventually([&] { return MetricValue(*client, "rl_policy_missing_files") == 1; }, 10s));
  EXPECT_EQ(Body(PostCheck(*client, R"({"user_id":"dir-user-2"})"))["limit"], 2);
  EXPECT_EQ(Body(client->Get("/config"))["rules"].size(), 1u);
  ASSERT_TRUE(Call("mongo", {{{"database", "y"}}}, &r).ok());  // the domains still serve
  EXPECT_EQ(r.statuses(0).current_limit().requests_per_unit(), 9u);
  std::filesystem::rename(dir + "/rules.yaml.bak", dir + "/rules.yaml");
  EXPECT_TRUE(
      Eventually([&] { return MetricValue(*client, "rl_policy_missing_files") == 0; }, 10s));
}

// Runs grpcurl (built by scripts/setup from the Go module proxy) and returns what it printed.
std::string Grpcurl(const std::string& args, int* exit_code) {
  const std::string grpcurl = SourcePath(".cache/go/bin/grpcurl");
  std::string output;
  FILE* pipe = popen((grpcurl + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  *exit_code = pclose(pipe);
  return output;
}

TEST_F(RlsIntegrationTest, GrpcurlAClientThisProjectDidNotWriteGetsTheDocumentedAnswers) {
  ASSERT_TRUE(std::ifstream(SourcePath(".cache/go/bin/grpcurl")).good())
      << "grpcurl is missing: scripts/setup builds it";
  auto limiter = Start();
  const std::string address = "127.0.0.1:" + std::to_string(grpc_port_);
  int code = -1;
  // Server reflection: no .proto file needed.
  std::string services = Grpcurl("-plaintext " + address + " list", &code);
  ASSERT_EQ(code, 0) << services;
  EXPECT_NE(services.find("envoy.service.ratelimit.v3.RateLimitService"), std::string::npos)
      << services;
  const std::string call =
      "-plaintext -d '{\"domain\":\"edge\",\"descriptors\":[{\"entries\":[{\"key\":"
      "\"remote_address\",\"value\":\"203.0.113.5\"}]}]}' " +
      address + " envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
  for (int remaining : {2, 1, 0}) {
    std::string out = Grpcurl(call, &code);
    ASSERT_EQ(code, 0) << out;
    auto answer = nlohmann::json::parse(out, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << out;
    EXPECT_EQ(answer["overall_code"], "OK");
    EXPECT_EQ(answer["statuses"][0]["current_limit"]["requests_per_unit"], 3);
    EXPECT_EQ(answer["statuses"][0]["current_limit"]["unit"], "MINUTE");
    // grpcurl prints proto field names, and leaves zero values out.
    EXPECT_EQ(answer["statuses"][0].value("limit_remaining", 0), remaining);
  }
  auto over = nlohmann::json::parse(Grpcurl(call, &code), nullptr, false);
  EXPECT_EQ(over["overall_code"], "OVER_LIMIT");
  // An empty domain: INVALID_ARGUMENT, which grpcurl reports by its exit code and message.
  std::string bad = Grpcurl("-plaintext -d '{\"domain\":\"\"}' " + address +
                                " envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit",
                            &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(bad.find("InvalidArgument"), std::string::npos) << bad;
  // grpc.health.v1 through reflection alone, as the README says: no .proto needed (it failed
  // without -proto: the default health service was not described).
  std::string health = Grpcurl("-plaintext " + address + " grpc.health.v1.Health/Check", &code);
  ASSERT_EQ(code, 0) << health;
  EXPECT_NE(health.find("SERVING"), std::string::npos) << health;
}

}  // namespace
}  // namespace rl::testing
