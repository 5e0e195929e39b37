// The reference service's settings (envoyproxy/ratelimit) as this limiter's: a Deployment's
// environment translated, ignored with a note, or refused; conflicts are errors.
#include "limiter/reference_settings.h"

#include <gtest/gtest.h>

#include "limiter/limiter_settings.h"

namespace rl::limiter {
namespace {

using Env = std::map<std::string, std::string>;

TranslatedSettings Translate(const Env& env) {
  auto translated = TranslateReferenceSettings(env);
  EXPECT_TRUE(translated.ok()) << translated.status().message();
  return translated.ok() ? translated.value() : TranslatedSettings{};
}

std::string Refusal(const Env& env) {
  auto translated = TranslateReferenceSettings(env);
  return translated.ok() ? "" : translated.status().message();
}

// The environment of the reference's own Kubernetes example Deployment.
const Env kDeployment = {{"LOG_LEVEL", "DEBUG"},
                         {"REDIS_SOCKET_TYPE", "tcp"},
                         {"REDIS_URL", "redis:6379"},
                         {"USE_STATSD", "false"},
                         {"RUNTIME_ROOT", "/data"},
                         {"RUNTIME_SUBDIRECTORY", "ratelimit"},
                         {"RUNTIME_WATCH_ROOT", "false"},
                         {"RUNTIME_IGNOREDOTFILES", "true"},
                         {"PORT", "8080"},
                         {"GRPC_PORT", "8081"},
                         {"REDIS_POOL_SIZE", "10"}};

TEST(ReferenceSettings, AReferenceDeploymentBecomesThisLimitersSettings) {
  const TranslatedSettings t = Translate(kDeployment);
  EXPECT_EQ(t.vars.at("LIMITS_FILE"), "/data/ratelimit/config");
  EXPECT_EQ(t.vars.at("LIMITS_IGNORE_DOTFILES"), "true");
  EXPECT_EQ(t.vars.at("REDIS_URL"), "redis://redis:6379");
  EXPECT_EQ(t.vars.at("LIMITER_PORT"), "8080");
  EXPECT_EQ(t.vars.at("GRPC_PORT"), "8081");
  EXPECT_EQ(t.vars.at("LOG_LEVEL"), "debug");
  EXPECT_EQ(t.vars.at("LIMITER_HOST"), "0.0.0.0");  // the reference's default, not ours
  // Every reference setting seen leaves a line; REDIS_POOL_SIZE is ignored with a reason.
  bool pool_noted = false;
  for (const std::string& note : t.notes) pool_noted |= note.rfind("REDIS_POOL_SIZE: ignored", 0) == 0;
  EXPECT_TRUE(pool_noted);
  // And this limiter's own loader takes the result.
  auto settings = LoadLimiterSettings(common::EnvSource(t.vars));
  ASSERT_TRUE(settings.ok()) << settings.status().message();
  EXPECT_EQ(settings.value().limits_file, "/data/ratelimit/config");
  EXPECT_EQ(settings.value().service.port, 8080);
  EXPECT_EQ(settings.value().redis.host, "redis");
  EXPECT_TRUE(settings.value().limits_ignore_dotfiles);
}

TEST(ReferenceSettings, RedisInTheReferencesFormsWithItsPassword) {
  Env env = {{"RUNTIME_ROOT", "/r"},
             {"REDIS_TYPE", "cluster"},
             {"REDIS_URL", "a:7000,b:7001"},
             {"REDIS_AUTH", "user:secret"},
             {"REDIS_TIMEOUT", "250ms"}};
  const TranslatedSettings t = Translate(env);
  EXPECT_EQ(t.vars.at("REDIS_MODE"), "cluster");
  EXPECT_EQ(t.vars.at("REDIS_URL"), "redis://user:secret@a:7000,redis://user:secret@b:7001");
  EXPECT_EQ(t.vars.at("REDIS_TIMEOUT_MS"), "250");
  for (const std::string& note : t.notes) EXPECT_EQ(note.find("secret"), std::string::npos) << note;
  env["REDIS_AUTH"] = "secret";  // a password alone
  EXPECT_EQ(Translate(env).vars.at("REDIS_URL"),
            "redis://:secret@a:7000,redis://:secret@b:7001");
  env["REDIS_TYPE"] = "SINGLE";
  env["REDIS_URL"] = "redis://x:1";  // this limiter's form: left as it is, no REDIS_AUTH beside
  env.erase("REDIS_AUTH");
  EXPECT_EQ(Translate(env).vars.at("REDIS_URL"), "redis://x:1");
  EXPECT_EQ(Translate(env).vars.at("REDIS_MODE"), "standalone");
}

TEST(ReferenceSettings, TheirValuesBesideOursMustAgree) {
  Env env = kDeployment;
  env["LIMITER_PORT"] = "8080";  // the same: fine
  EXPECT_EQ(Refusal(env), "");
  env["LIMITER_PORT"] = "9000";
  EXPECT_NE(Refusal(env).find("PORT"), std::string::npos);
  env = kDeployment;
  env["LIMITS_FILE"] = "/elsewhere";
  EXPECT_NE(Refusal(env).find("LIMITS_FILE"), std::string::npos);
}

TEST(ReferenceSettings, WhatThisLimiterCannotDoIsRefusedByName) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"REDIS_TYPE", "sentinel"},
                                                        {"REDIS_TLS", "true"},
                                                        {"REDIS_SOCKET_TYPE", "unix"},
                                                        {"CONFIG_TYPE", "REST"},
                                                        {"CONFIG_GRPC_XDS_SERVER_USE_TLS", "true"},
                                                        {"BACKEND_TYPE", "memcache"},
                                                        {"MERGE_DOMAIN_CONFIG", "true"},
                                                        {"REDIS_PERSECOND", "true"},
                                                        {"RESPONSE_DYNAMIC_METADATA", "true"},
                                                        {"LIMIT_PER_UNIT_HEADERS_ENABLED", "true"}}) {
    Env env = kDeployment;
    env[name] = value;
    if (name == "CONFIG_GRPC_XDS_SERVER_USE_TLS") env["CONFIG_TYPE"] = "GRPC_XDS_SOTW";
    EXPECT_NE(Refusal(env).find(name), std::string::npos) << name;
  }
}

TEST(ReferenceSettings, ConfigsFromAnXdsServer) {
  const TranslatedSettings t = Translate({{"CONFIG_TYPE", "GRPC_XDS_SOTW"},
                                          {"CONFIG_GRPC_XDS_SERVER_URL", "gateway:18001"},
                                          {"CONFIG_GRPC_XDS_NODE_ID", "ratelimit"},
                                          {"CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL", "1s"},
                                          {"FORCE_START_WITHOUT_INITIAL_CONFIG", "true"}});
  EXPECT_EQ(t.vars.at("LIMITS_XDS_SERVER"), "gateway:18001");
  EXPECT_EQ(t.vars.at("LIMITS_XDS_NODE_ID"), "ratelimit");
  EXPECT_EQ(t.vars.at("LIMITS_XDS_RETRY_MS"), "1000");
  EXPECT_EQ(t.vars.at("LIMITS_XDS_FORCE_START"), "true");
  EXPECT_EQ(Translate({{"CONFIG_TYPE", "GRPC_XDS_SOTW"}}).vars.at("LIMITS_XDS_SERVER"),
            "localhost:18000");  // the reference's default
}

TEST(ReferenceSettings, WithoutAReferenceSettingNothingIsTranslated) {
  // PORT or HOST alone may be anyone's: left alone.
  const Env env = {{"PORT", "5000"}, {"HOST", "example"}, {"LOG_LEVEL", "DEBUG"}};
  const TranslatedSettings t = Translate(env);
  EXPECT_EQ(t.vars, env);
  EXPECT_TRUE(t.notes.empty());
}

TEST(ReferenceSettings, TheCacheSizeNearLimitRatioAndDefaultsMap) {
  Env env = {{"RUNTIME_SUBDIRECTORY", "ratelimit"},
             {"LOCAL_CACHE_SIZE_IN_BYTES", "1280000"},
             {"NEAR_LIMIT_RATIO", "0.9"},
             {"RUNTIME_APPDIRECTORY", "limits"}};
  const TranslatedSettings t = Translate(env);
  EXPECT_EQ(t.vars.at("LIMITS_FILE"), "/srv/runtime_data/current/ratelimit/limits");
  EXPECT_EQ(t.vars.at("BLOCKED_CACHE_ENTRIES"), "10000");
  EXPECT_EQ(t.vars.at("DESCRIPTOR_NEAR_LIMIT_RATIO"), "0.9");
  env["LOCAL_CACHE_SIZE_IN_BYTES"] = "lots";
  EXPECT_NE(Refusal(env).find("LOCAL_CACHE_SIZE_IN_BYTES"), std::string::npos);
}

}  // namespace
}  // namespace rl::limiter
