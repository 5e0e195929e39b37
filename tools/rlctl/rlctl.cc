#include "tools/rlctl/rlctl.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "common/base/iso_time.h"
#include "common/kafka/kafka_admin.h"
#include "limiter/core/policy_holder.h"
#include "proto-events/event_codec.h"
#include "tools/rlctl/decision_tail.h"
#include "tools/rlctl/health_report.h"
#include "tools/rlctl/http_call.h"

namespace rl::rlctl {

using nlohmann::json;

namespace {

const char* kUsage = R"(rlctl: the rate limiter's command line for operators

usage: rlctl [--json] [--gateway URL] [--limiter URL] [--brokers LIST] [--topic T] COMMAND ...

commands:
  check <user> [--action A] [--cost N] [--api-key K]   may <user> do A now? (POST /check)
  analytics <user>                                      a user's counters and last minutes
  top [--by blocked|rule] [--limit N]                   the most blocked users, or rules
  limits show|reset <user> [--action A]                 a user's limit state (ADMIN_TOKEN)
  config validate <file>                                check a limits file, connecting to nothing
  health                                                every service's health
  tail [--user U] [--outcome O] [--count N] [--seconds S]  decisions as they happen (Kafka)

Every command takes --help. Tables for people, --json for scripts.
Exit codes: 0 ok; 1 blocked, unhealthy or invalid; 2 usage or connection error.
Environment: RLCTL_GATEWAY_URL (http://127.0.0.1:3000), RLCTL_LIMITER_URL (http://127.0.0.1:8080),
KAFKA_BROKERS (127.0.0.1:9092), KAFKA_TOPIC (rl.decisions.v1), CHECK_TOKEN, ANALYTICS_TOKEN,
ADMIN_TOKEN.
)";

const std::map<std::string, std::string> kHelp = {
    {"check", R"(usage: rlctl check <user> [--action A] [--cost N] [--api-key K]
Asks the gateway's POST /check whether <user> may do action A (default "default") at cost N
(default 1). Exit 0 if allowed, 1 if not (blocked, banned, denied, fail_closed), 2 on an error.
)"},
    {"analytics", R"(usage: rlctl analytics <user>
The user's counters from GET /analytics/<user>: totals, by outcome, by rule, and the last minutes.
)"},
    {"top", R"(usage: rlctl top [--by blocked|rule] [--limit N]
The most blocked users (--by blocked, the default) or the rules that block most (--by rule).
)"},
    {"limits", R"(usage: rlctl limits show|reset <user> [--action A]
The limiter's state for <user> (every rule the request would be checked against), or resets it.
Needs ADMIN_TOKEN (the limiter's) in the environment.
)"},
    {"config", R"(usage: rlctl config validate <file>
Parses and validates a limits file (or a directory of them) as the limiter would, connecting to
nothing. Exit 0 and a summary if valid, 1 and every error (file, place, bad value) if not.
)"},
    {"health", R"(usage: rlctl health
The gateway, the analytics Redis, every limiter behind it (with its Redis and Kafka), every
analytics worker (ok, degraded or down), the consumer group (total lag over every partition,
whoever owns it; unowned and stalled partitions) and stale limiter records (a limiter that died).
Exit 0 if all are healthy, 1 if any is not, 2 if the gateway cannot be reached.
)"},
    {"tail", R"(usage: rlctl tail [--user U] [--outcome O] [--count N] [--seconds S]
Prints decisions as they happen, read from Kafka (every partition, from its end; no consumer
group). --user and --outcome (allowed, blocked, fail_open, ...) filter; --count stops after N
decisions, --seconds after S seconds (default: until interrupted).
)"},
};

struct Failure {
  int code;
  std::string message;
};

// Command-line arguments: positionals and --name value options.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool help = false;
};

std::optional<Failure> Parse(const std::vector<std::string>& in, const std::set<std::string>& known,
                             Args* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& a = in[i];
    if (a == "--help" || a == "-h") {
      out->help = true;
    } else if (a.rfind("--", 0) == 0) {
      const std::string name = a.substr(2);
      if (!known.count(name)) return Failure{kExitUsage, "unknown option " + a};
      if (i + 1 >= in.size()) return Failure{kExitUsage, a + " needs a value"};
      out->options[name] = in[++i];
    } else {
      out->positional.push_back(a);
    }
  }
  return std::nullopt;
}

std::optional<int64_t> ToInt(const std::string& s, int64_t min, int64_t max) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used != s.size() || v < min || v > max) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

class Rlctl {
 public:
  Rlctl(Context c, std::ostream& out, std::ostream& err) : c_(std::move(c)), out_(out), err_(err) {}

  int Dispatch(const std::string& command, const std::vector<std::string>& rest) {
    if (command == "check") return Check(rest);
    if (command == "analytics") return AnalyticsOf(rest);
    if (command == "top") return Top(rest);
    if (command == "limits") return Limits(rest);
    if (command == "config") return Config(rest);
    if (command == "health") return Health(rest);
    if (command == "tail") return Tail(rest);
    return Usage("unknown command \"" + command + "\"");
  }

  int Usage(const std::string& why) {
    if (c_.json) out_ << json{{"error", {{"code", "usage"}, {"message", why}}}}.dump() << "\n";
    err_ << "rlctl: " << why << "\n\n" << kUsage;
    return kExitUsage;
  }

 private:
  // Parses; on --help prints the command's help; on a mistake prints it and the help.
  std::optional<int> Prepare(const std::string& command, const std::vector<std::string>& in,
                             const std::set<std::string>& known, size_t positionals, Args* args) {
    if (auto f = Parse(in, known, args)) {
      err_ << "rlctl " << command << ": " << f->message << "\n" << kHelp.at(command);
      return f->code;
    }
    if (args->help) {
      out_ << kHelp.at(command);
      return kExitOk;
    }
    if (args->positional.size() != positionals) {
      err_ << "rlctl " << command << ": expected " << positionals << " argument(s)\n"
           << kHelp.at(command);
      return kExitUsage;
    }
    return std::nullopt;
  }

  int ConnectionError(const std::string& error) {
    // --json: a JSON error on stdout too, so scripts always get JSON.
    if (c_.json)
      out_ << json{{"error", {{"code", "unreachable"}, {"message", error}}}}.dump() << "\n";
    err_ << "rlctl: " << error << "\n";
    return kExitUsage;
  }

  int HttpError(const Answer& a) {
    if (c_.json) out_ << a.body.dump() << "\n";
    err_ << "rlctl: " << ErrorOf(a) << "\n";
    return kExitUsage;
  }

  // One call that must answer 200: its body, or nullopt with the error said and *code set.
  std::optional<json> Expect200(const std::string& base, const std::string& method,
                                const std::string& path, const std::string& token, int* code) {
    std::string error;
    auto a = Call(base, method, path, token, "", &error);
    if (!a) {
      *code = ConnectionError(error);
      return std::nullopt;
    }
    if (a->status != 200) {
      *code = HttpError(*a);
      return std::nullopt;
    }
    return std::move(a->body);
  }

  // With --json: prints the body as is and returns true.
  bool PrintedAsJson(const json& body) {
    if (c_.json) out_ << body.dump() << "\n";
    return c_.json;
  }

  int Check(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("check", in, {"action", "cost", "api-key"}, 1, &args)) return *r;
    json body = {{"user_id", args.positional[0]}};
    if (args.options.count("action")) body["action"] = args.options["action"];
    if (args.options.count("cost")) {
      auto cost = ToInt(args.options["cost"], 1, 1'000'000'000);
      if (!cost) return Usage("--cost must be a positive integer");
      body["cost"] = *cost;
    }
    if (args.options.count("api-key")) body["api_key"] = args.options["api-key"];
    std::string error;
    auto a = Call(c_.gateway, "POST", "/check", c_.check_token, body.dump(), &error);
    if (!a) return ConnectionError(error);
    if (a->status != 200 && a->status != 429 && a->status != 403 && a->status != 503) {
      return HttpError(*a);
    }
    const bool allowed = a->body.value("allowed", false);
    if (c_.json) {
      out_ << a->body.dump() << "\n";
    } else {
      out_ << Table(
          {"user", "action", "allowed", "outcome", "rule", "remaining", "limit", "retry after ms"},
          {{args.positional[0], args.options.count("action") ? args.options["action"] : "default",
            allowed ? "yes" : "no", Str(a->body.value("outcome", json())),
            Str(a->body.value("rule", json())), Str(a->body.value("remaining", json())),
            Str(a->body.value("limit", json())), Str(a->body.value("retry_after_ms", json()))}});
    }
    return allowed ? kExitOk : kExitNo;
  }

  int AnalyticsOf(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("analytics", in, {}, 1, &args)) return *r;
    int code = kExitOk;
    auto body = Expect200(c_.gateway, "GET", "/analytics/" + UrlPart(args.positional[0]),
                          c_.analytics_token, &code);
    if (!body) return code;
    if (PrintedAsJson(*body)) return kExitOk;
    const json& u = *body;
    std::vector<std::vector<std::string>> rows = {
        {"total", Str(u["total"])}, {"allowed", Str(u["allowed"])}, {"blocked", Str(u["blocked"])}};
    // Held in locals: items() of a temporary would dangle.
    const json by_outcome = u.value("by_outcome", json::object());
    const json by_rule = u.value("by_rule", json::object());
    for (const auto& [outcome, n] : by_outcome.items()) {
      rows.push_back({"outcome " + outcome, Str(n)});
    }
    for (const auto& [rule, outcomes] : by_rule.items()) {
      for (const auto& [outcome, n] : outcomes.items()) {
        rows.push_back({"rule " + rule + " " + outcome, Str(n)});
      }
    }
    out_ << "user " << Str(u["user_id"]) << "\n" << Table({"counter", "value"}, rows);
    std::vector<std::vector<std::string>> minutes;
    for (const auto& m : u.value("last_minutes", json::array())) {
      minutes.push_back({Str(m["minute"]), Str(m["allowed"]), Str(m["blocked"])});
    }
    if (!minutes.empty()) out_ << "\n" << Table({"minute (UTC)", "allowed", "blocked"}, minutes);
    return kExitOk;
  }

  int Top(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("top", in, {"by", "limit"}, 0, &args)) return *r;
    const std::string by = args.options.count("by") ? args.options["by"] : "blocked";
    if (by != "blocked" && by != "rule") return Usage("--by must be blocked or rule");
    std::string limit = args.options.count("limit") ? args.options["limit"] : "10";
    if (!ToInt(limit, 1, 100)) return Usage("--limit must be an integer from 1 to 100");
    int code = kExitOk;
    auto body = Expect200(c_.gateway, "GET", "/analytics/top?by=" + by + "&limit=" + limit,
                          c_.analytics_token, &code);
    if (!body) return code;
    if (PrintedAsJson(*body)) return kExitOk;
    std::vector<std::vector<std::string>> rows;
    const char* list = by == "rule" ? "rules" : "users";
    for (const auto& e : body->value(list, json::array())) {
      rows.push_back({Str(e.value(by == "rule" ? "rule" : "user_id", json())), Str(e["blocked"])});
    }
    out_ << Table({by == "rule" ? "rule" : "user", "blocked"}, rows);
    return kExitOk;
  }

  int Limits(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("limits", in, {"action"}, 2, &args)) return *r;
    const std::string& verb = args.positional[0];
    if (verb != "show" && verb != "reset") return Usage("limits takes show or reset");
    if (c_.admin_token.empty()) {
      err_ << "rlctl limits: set ADMIN_TOKEN (the limiter's admin token)\n";
      return kExitUsage;
    }
    std::string path = "/limits/" + UrlPart(args.positional[1]);
    if (args.options.count("action")) path += "?action=" + UrlPart(args.options["action"]);
    int code = kExitOk;
    auto body =
        Expect200(c_.limiter, verb == "show" ? "GET" : "DELETE", path, c_.admin_token, &code);
    if (!body) return code;
    if (PrintedAsJson(*body)) return kExitOk;
    std::vector<std::vector<std::string>> rows;
    // A key's state in words: "none", or its fields and when it expires.
    auto text = [](const json& rule, const char* what) -> std::string {
      if (!rule.contains(what) || !rule[what].is_object()) return "-";
      const json& state = rule[what];
      if (state.value("type", "none") == "none") return "none";
      const int64_t ttl = state.value("ttl_ms", int64_t{-2});
      return Str(state.value("fields", json::object())) +
             (ttl >= 0 ? ", expires in " + std::to_string((ttl + 999) / 1000) + " s" : "");
    };
    for (const auto& rule : body->value("rules", json::array())) {
      rows.push_back({Str(rule["rule"]), Str(rule["algorithm"]), Str(rule["key"]),
                      text(rule, "state"), text(rule, "ban"), text(rule, "strikes")});
    }
    out_ << "user " << Str((*body)["user_id"]) << ", action " << Str((*body)["action"]) << ", tier "
         << Str((*body)["tier"]) << "\n"
         << Table({"rule", "algorithm", "key", "state", "ban", "strikes"}, rows);
    if (verb == "reset") out_ << "deleted keys: " << Str((*body)["deleted_keys"]) << "\n";
    return kExitOk;
  }

  int Config(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("config", in, {}, 2, &args)) return *r;
    if (args.positional[0] != "validate") return Usage("config takes validate <file>");
    std::ostringstream ok, errors;
    const int code = limiter::CheckConfig(args.positional[1], ok, errors);
    if (c_.json) {
      json lines = json::array();
      std::istringstream in_errors(errors.str());
      for (std::string line; std::getline(in_errors, line);) lines.push_back(line);
      out_ << json{{"file", args.positional[1]}, {"valid", code == 0}, {"errors", lines}}.dump()
           << "\n";
    } else {
      out_ << ok.str();
      err_ << errors.str();
    }
    return code == 0 ? kExitOk : kExitNo;
  }

  int Health(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("health", in, {}, 0, &args)) return *r;
    std::string error;
    auto gateway = Call(c_.gateway, "GET", "/health", "", "", &error);
    if (!gateway) return ConnectionError(error);
    HealthAnswers answers{.gateway_url = c_.gateway, .gateway = std::move(*gateway)};
    for (const auto& l : answers.gateway.body.value("limiters", json::array())) {
      std::string ignored;  // unreachable: no detail
      answers.limiters.push_back(Call(Str(l["url"]), "GET", "/health", "", "", &ignored));
    }
    answers.workers =
        Call(c_.gateway, "GET", "/analytics/workers", c_.analytics_token, "", &answers.workers_error);
    std::string ignored;
    answers.ledger = Call(c_.gateway, "GET", "/analytics/limiters", c_.analytics_token, "", &ignored);
    const HealthVerdict verdict = JudgeHealth(answers);
    if (c_.json) {
      out_ << verdict.report.dump() << "\n";
    } else {
      out_ << Table({"service", "url", "health", "detail"}, verdict.rows);
    }
    return verdict.healthy ? kExitOk : kExitNo;
  }

  int Tail(const std::vector<std::string>& in) {
    Args args;
    if (auto r = Prepare("tail", in, {"user", "outcome", "count", "seconds"}, 0, &args)) return *r;
    int64_t count = 0, seconds = 0;
    if (args.options.count("count")) {
      auto n = ToInt(args.options["count"], 1, 1'000'000'000);
      if (!n) return Usage("--count must be a positive integer");
      count = *n;
    }
    if (args.options.count("seconds")) {
      auto n = ToInt(args.options["seconds"], 1, 86400);
      if (!n) return Usage("--seconds must be an integer from 1 to 86400");
      seconds = *n;
    }
    const std::string user = args.options.count("user") ? args.options["user"] : "";
    const std::string outcome = args.options.count("outcome") ? args.options["outcome"] : "";
    if (!outcome.empty()) {
      std::string known;
      bool valid = false;
      for (int o = events::v1::Outcome_MIN + 1; o <= events::v1::Outcome_MAX; ++o) {
        if (!events::v1::Outcome_IsValid(o)) continue;
        const std::string name(events::OutcomeName(static_cast<events::v1::Outcome>(o)));
        valid = valid || name == outcome;
        known += (known.empty() ? "" : ", ") + name;
      }
      if (!valid) return Usage("--outcome must be one of " + known);
    }
    int64_t shown = 0;
    if (!c_.json) {
      out_ << "time (UTC)               user                 action     outcome         rule      "
              "       remaining  request id\n";
      out_.flush();
    }
    auto status = TailDecisions(
        c_.brokers, c_.topic, c_.kafka_security, std::chrono::seconds(seconds),
        [&](const events::v1::Decision& d) {
          const std::string o(events::OutcomeName(d.outcome()));
          if ((!user.empty() && d.user_id() != user) || (!outcome.empty() && o != outcome)) {
            return true;
          }
          if (c_.json) {
            out_ << json{{"time", common::IsoUtcMs(d.ts_ms())},
                         {"user_id", d.user_id()},
                         {"action", d.action()},
                         {"outcome", o},
                         {"rule", d.rule()},
                         {"remaining", d.remaining()},
                         {"limit", d.limit()},
                         {"request_id", d.request_id()},
                         {"limiter_id", d.limiter_id()}}
                        .dump()
                 << "\n";
          } else {
            char line[512];
            std::snprintf(line, sizeof(line), "%-24s %-20s %-10s %-15s %-15s %9lld  %s\n",
                          common::IsoUtcMs(d.ts_ms()).c_str(), d.user_id().substr(0, 20).c_str(),
                          d.action().substr(0, 10).c_str(), o.c_str(),
                          d.rule().substr(0, 15).c_str(), static_cast<long long>(d.remaining()),
                          d.request_id().c_str());
            out_ << line;
          }
          out_.flush();
          return count == 0 || ++shown < count;
        });
    if (!status.ok()) return ConnectionError(status.message());
    return kExitOk;
  }

  Context c_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

Context ContextFromEnv(const std::map<std::string, std::string>& env) {
  Context c;
  auto set = [&env](const char* name, std::string* field) {
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) *field = it->second;
  };
  set("RLCTL_GATEWAY_URL", &c.gateway);
  set("RLCTL_LIMITER_URL", &c.limiter);
  set("KAFKA_BROKERS", &c.brokers);
  set("KAFKA_TOPIC", &c.topic);
  set("CHECK_TOKEN", &c.check_token);
  set("ANALYTICS_TOKEN", &c.analytics_token);
  set("ADMIN_TOKEN", &c.admin_token);
  c.kafka_security = common::KafkaSecurityConfig(common::EnvSource(env));
  return c;
}

int Run(std::vector<std::string> args, Context context, std::ostream& out, std::ostream& err) {
  // Global options, before the command.
  size_t i = 0;
  for (; i < args.size() && args[i].rfind("--", 0) == 0; ++i) {
    const std::string& a = args[i];
    if (a == "--help") {
      out << kUsage;
      return kExitOk;
    }
    if (a == "--json") {
      context.json = true;
      continue;
    }
    std::string* field = a == "--gateway"   ? &context.gateway
                         : a == "--limiter" ? &context.limiter
                         : a == "--brokers" ? &context.brokers
                         : a == "--topic"   ? &context.topic
                                            : nullptr;
    if (field == nullptr || i + 1 >= args.size()) {
      err << "rlctl: " << (field == nullptr ? "unknown option " : "missing value of ") << a
          << "\n\n"
          << kUsage;
      return kExitUsage;
    }
    *field = args[++i];
  }
  // --json may also follow the command.
  std::vector<std::string> rest;
  for (size_t j = i + 1; j < args.size(); ++j) {
    if (args[j] == "--json") {
      context.json = true;
    } else {
      rest.push_back(args[j]);
    }
  }
  Rlctl rlctl(context, out, err);
  if (i >= args.size()) return rlctl.Usage("no command");
  return rlctl.Dispatch(args[i], rest);
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (size_t c = 0; c < widths.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      text += cell;
      if (c + 1 < widths.size()) text += std::string(widths[c] - cell.size() + 2, ' ');
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

}  // namespace rl::rlctl
