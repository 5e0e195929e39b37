#pragma once
// A policy from limits-file YAML, active as the policy holder would hold it: for unit tests.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "limiter/core/policy_holder.h"

namespace rl::limiter {

// A parse error fails the calling test (and gives an empty policy).
inline std::shared_ptr<const ActivePolicy> ActivePolicyFromYaml(const std::string& yaml) {
  auto policy = ParsePolicyYaml(yaml, "test.yaml");
  EXPECT_TRUE(policy.ok()) << policy.status().message();
  auto active = std::make_shared<ActivePolicy>();
  if (policy.ok()) active->policy = std::move(policy.value());
  active->hash = "test";
  return active;
}

}  // namespace rl::limiter
