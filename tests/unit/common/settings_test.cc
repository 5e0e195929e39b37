#include "common/base/settings.h"

#include <gtest/gtest.h>

#include "common/kafka/kafka_admin.h"

namespace rl::common {
namespace {

TEST(ParseDotEnv, ReadsKeysValuesQuotesAndComments) {
  auto vars = EnvSource::ParseDotEnv(
      "# comment\n\nA=1\nexport B = two \nC=\"quoted # not a comment\"\nD=x # trailing\nE=\r\n");
  ASSERT_TRUE(vars.ok()) << vars.status().message();
  EXPECT_EQ(vars.value().at("A"), "1");
  EXPECT_EQ(vars.value().at("B"), "two");
  EXPECT_EQ(vars.value().at("C"), "quoted # not a comment");
  EXPECT_EQ(vars.value().at("D"), "x");
  EXPECT_EQ(vars.value().at("E"), "");
}

TEST(ParseDotEnv, RejectsLinesWithoutAnEqualsSign) {
  auto vars = EnvSource::ParseDotEnv("A=1\nNOPE\n");
  ASSERT_FALSE(vars.ok());
  EXPECT_NE(vars.status().message().find("line 2"), std::string::npos);
}

TEST(SettingsLoader, KeepsDefaultsForUnsetVariables) {
  EnvSource env(std::map<std::string, std::string>{});
  int port = 8080;
  double rate = 1.5;
  std::string mode = "open";
  SettingsLoader load(env);
  load.Int("PORT", &port, 1, 65535);
  load.Double("RATE", &rate, 0, 100);
  load.OneOf("MODE", &mode, {"open", "closed"});
  EXPECT_TRUE(load.Finish().ok());
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(rate, 1.5);
  EXPECT_EQ(mode, "open");
}

TEST(SettingsLoader, ParsesValidValues) {
  EnvSource env({{"PORT", "9000"}, {"RATE", "0.01"}, {"MODE", "closed"}, {"ON", "true"}});
  int port = 0;
  double rate = 0;
  std::string mode;
  bool on = false;
  SettingsLoader load(env);
  load.Int("PORT", &port, 1, 65535);
  load.Double("RATE", &rate, 0, 100);
  load.OneOf("MODE", &mode, {"open", "closed"});
  load.Bool("ON", &on);
  ASSERT_TRUE(load.Finish().ok());
  EXPECT_EQ(port, 9000);
  EXPECT_DOUBLE_EQ(rate, 0.01);
  EXPECT_EQ(mode, "closed");
  EXPECT_TRUE(on);
}

class SettingsLoaderRejects : public ::testing::TestWithParam<const char*> {};

TEST_P(SettingsLoaderRejects, BadDecimalsNamingTheVariable) {
  EnvSource env(std::map<std::string, std::string>{{"DEFAULT_REFILL_PER_SEC", GetParam()}});
  double rate = 1;
  SettingsLoader load(env);
  load.Double("DEFAULT_REFILL_PER_SEC", &rate, 0, 1e9);
  Status s = load.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("DEFAULT_REFILL_PER_SEC=", 0), 0u) << s.message();
  EXPECT_EQ(rate, 1);
}

INSTANTIATE_TEST_SUITE_P(Values, SettingsLoaderRejects,
                         ::testing::Values("", "0", "-1", "abc", "1.5x", "nan", "inf", "1e999"));

TEST(SettingsLoader, RejectsOutOfRangeIntegersAndUnknownChoices) {
  EnvSource env({{"PORT", "70000"}, {"MODE", "maybe"}});
  int port = 1;
  std::string mode = "open";
  SettingsLoader load(env);
  load.Int("PORT", &port, 1, 65535);
  load.OneOf("MODE", &mode, {"open", "closed"});
  Status s = load.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("PORT"), std::string::npos);  // the first error is reported
}

TEST(KafkaSecurityConfig, MapsPrefixedVariablesToLibrdkafkaProperties) {
  EnvSource env(std::map<std::string, std::string>{{"KAFKA_SECURITY_PROTOCOL", "SASL_SSL"},
                                                   {"KAFKA_SASL_MECHANISMS", "SCRAM-SHA-512"},
                                                   {"KAFKA_SASL_PASSWORD", "pw"},
                                                   {"KAFKA_SSL_CA_LOCATION", "/etc/ca.pem"},
                                                   {"KAFKA_BROKERS", "b:9092"},
                                                   {"KAFKA_TOPIC", "t"}});
  auto config = KafkaSecurityConfig(env);
  EXPECT_EQ(config, (std::map<std::string, std::string>{{"security.protocol", "SASL_SSL"},
                                                        {"sasl.mechanisms", "SCRAM-SHA-512"},
                                                        {"sasl.password", "pw"},
                                                        {"ssl.ca.location", "/etc/ca.pem"}}));
}

TEST(KafkaSecurityConfig, PassesLibrdkafkasDebugContexts) {
  EnvSource env(std::map<std::string, std::string>{{"KAFKA_DEBUG", "broker,eos"},
                                                   {"KAFKA_DEBUGGING", "ignored"}});
  EXPECT_EQ(KafkaSecurityConfig(env),
            (std::map<std::string, std::string>{{"debug", "broker,eos"}}));
}

}  // namespace
}  // namespace rl::common
