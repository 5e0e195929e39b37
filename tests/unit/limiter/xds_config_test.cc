// An xDS RateLimitConfig (ratelimit.config.ratelimit.v3) in the reference's file format: read by
// the same parser as a file, field for field (the reference's ConfigXdsProtoToYaml).
#include <gtest/gtest.h>

#include "limiter/core/policy.h"
#include "limiter/front/xds_config_client.h"

namespace rl::limiter {
namespace {

namespace rlsconf = ratelimit::config::ratelimit::v3;

TEST(RateLimitConfigYaml, EveryFieldReachesTheDescriptorConfig) {
  rlsconf::RateLimitConfig config;
  config.set_name("cfg");
  config.set_domain("edge");
  auto* plan = config.add_descriptors();
  plan->set_key("plan");
  plan->set_value("basic");
  plan->mutable_rate_limit()->set_unit(rlsconf::MINUTE);
  plan->mutable_rate_limit()->set_requests_per_unit(7);
  plan->mutable_rate_limit()->set_name("basic");
  plan->set_shadow_mode(true);
  auto* premium = config.add_descriptors();
  premium->set_key("plan");
  premium->set_value("premium");
  premium->mutable_rate_limit()->set_unit(rlsconf::HOUR);
  premium->mutable_rate_limit()->set_requests_per_unit(100);
  premium->mutable_rate_limit()->add_replaces()->set_name("basic");
  premium->set_detailed_metric(true);
  auto* internal = config.add_descriptors();
  internal->set_key("internal");
  internal->mutable_rate_limit()->set_unlimited(true);
  auto* nested = config.add_descriptors();
  nested->set_key("source");
  auto* child = nested->add_descriptors();
  child->set_key("destination");
  child->mutable_rate_limit()->set_unit(rlsconf::SECOND);
  child->mutable_rate_limit()->set_requests_per_unit(1);

  auto policy = ParsePolicyYaml(RateLimitConfigYaml(config), "xds");
  ASSERT_TRUE(policy.ok()) << policy.status().message() << "\n" << RateLimitConfigYaml(config);
  ASSERT_EQ(policy.value().domains.count("edge"), 1u);
  const auto& nodes = policy.value().domains.at("edge").descriptors;
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[0].value, "basic");
  EXPECT_EQ(nodes[0].limit->unit, RateLimitUnit::kMinute);
  EXPECT_EQ(nodes[0].limit->requests_per_unit, 7);
  EXPECT_EQ(nodes[0].limit->name, "basic");
  EXPECT_TRUE(nodes[0].limit->shadow_mode);
  EXPECT_EQ(nodes[1].limit->replaces, std::vector<std::string>{"basic"});
  EXPECT_TRUE(nodes[1].limit->detailed_metric);
  EXPECT_TRUE(nodes[2].limit->unlimited);
  ASSERT_EQ(nodes[3].descriptors.size(), 1u);
  EXPECT_EQ(nodes[3].descriptors[0].limit->unit, RateLimitUnit::kSecond);
}

TEST(RateLimitConfigYaml, ALimitWithoutItsUnitIsRefusedByTheParser) {
  rlsconf::RateLimitConfig config;
  config.set_domain("broken");
  auto* d = config.add_descriptors();
  d->set_key("k");
  d->mutable_rate_limit()->set_requests_per_unit(5);
  EXPECT_FALSE(ParsePolicyYaml(RateLimitConfigYaml(config), "xds").ok());
}

}  // namespace
}  // namespace rl::limiter
