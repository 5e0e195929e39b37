#pragma once
// rlctl: one command line for operators. Every subcommand talks to a running stack over its HTTP
// APIs (gateway, limiter) or Kafka (tail), except `config validate`, which connects to nothing.
// Tables for people, --json for scripts. Exit codes: 0 ok; 1 the answer is "blocked", something
// is unhealthy, or the config is invalid; 2 a usage or connection error.

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace rl::rlctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;     // blocked, unhealthy, invalid
inline constexpr int kExitUsage = 2;  // usage or connection error

// Where things are and the tokens, from the environment (RLCTL_GATEWAY_URL, RLCTL_LIMITER_URL,
// KAFKA_BROKERS, KAFKA_TOPIC, the KAFKA_ security settings, CHECK_TOKEN, ANALYTICS_TOKEN,
// ADMIN_TOKEN); flags override.
struct Context {
  std::string gateway = "http://127.0.0.1:3000";
  std::string limiter = "http://127.0.0.1:8080";
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "rl.decisions.v1";
  std::string check_token, analytics_token, admin_token;
  // KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*: reaching the brokers as the services do.
  std::map<std::string, std::string> kafka_security;
  bool json = false;
};
Context ContextFromEnv(const std::map<std::string, std::string>& env);

// Runs one command line (without the program name). Output to `out`, errors to `err`.
int Run(std::vector<std::string> args, Context context, std::ostream& out, std::ostream& err);

// A table with a header row, columns padded to their widest cell. Pure.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

}  // namespace rl::rlctl
