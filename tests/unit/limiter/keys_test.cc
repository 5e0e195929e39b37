#include "limiter/core/keys.h"

#include <gtest/gtest.h>

#include <set>

namespace rl::limiter {
namespace {

TEST(KeysFor, HashTagsTheSubjectSoItsKeysShareASlot) {
  RuleKeys k = KeysFor("login", "tb", Scope::kUserAction, "u1", "signin", "");
  EXPECT_EQ(k.state, "rl:{u1}:s:login/tb:signin");
  EXPECT_EQ(k.ban, "rl:{u1}:b:login:signin");
  EXPECT_EQ(k.strikes, "rl:{u1}:x:login:signin");
  EXPECT_EQ(KeysFor("r", "tb", Scope::kUser, "u1", "a", "").state, "rl:{u1}:s:r/tb");
  EXPECT_EQ(KeysFor("r", "tb", Scope::kApiKey, "u1", "a", "").state, "rl:{u1}:s:r/tb");
  EXPECT_EQ(KeysFor("r", "fw1000", Scope::kGlobal, "u1", "a", "key").state,
            "rl:g:{global}:s:r/fw1000");
}

TEST(KeysFor, NamesAnApiKeyByAFingerprintNeverByTheKey) {
  RuleKeys k = KeysFor("r", "tb", Scope::kApiKey, "u1", "a", "sk-live-secret");
  EXPECT_EQ(k.state.find("sk-live-secret"), std::string::npos);
  EXPECT_EQ(k.state.rfind("rl:k:{", 0), 0u) << k.state;
  EXPECT_EQ(k.state.size(), std::string("rl:k:{}:s:r/tb").size() + 32) << k.state;
  EXPECT_NE(k.state, KeysFor("r", "tb", Scope::kApiKey, "u1", "a", "sk-live-secreT").state);
}

TEST(KeysFor, EscapesBracesAndPercentInUserIds) {
  EXPECT_EQ(KeysFor("r", "tb", Scope::kUser, "a}b", "", "").state, "rl:{a%7Db}:s:r/tb");
  EXPECT_EQ(KeysFor("r", "tb", Scope::kUser, "%7D", "", "").state, "rl:{%257D}:s:r/tb");
}

TEST(KeysFor, IsInjectiveForTrickyInputs) {
  struct In {
    Scope scope;
    const char* user;
    const char* action;
    const char* key;
  };
  const std::vector<In> inputs = {
      {Scope::kUserAction, "a:b", "c", ""}, {Scope::kUserAction, "a", "b:c", ""},
      {Scope::kUserAction, "a}", "x", ""},  {Scope::kUserAction, "a%7D", "x", ""},
      {Scope::kUser, "a", "", ""},          {Scope::kUserAction, "a", "b", ""},
      {Scope::kApiKey, "a", "", "a"},       {Scope::kGlobal, "global", "", ""},
      {Scope::kUser, "global", "", ""},     {Scope::kUser, "k:a", "", ""},
      {Scope::kUserAction, "{a}", "b", ""}, {Scope::kUserAction, "a", "s:r", ""}};
  std::set<std::string> keys;
  for (const auto& in : inputs) {
    RuleKeys k = KeysFor("r", "tb", in.scope, in.user, in.action, in.key);
    keys.insert(k.state);
    keys.insert(k.ban);
    keys.insert(k.strikes);
  }
  EXPECT_EQ(keys.size(), 3 * inputs.size());
}

}  // namespace
}  // namespace rl::limiter
