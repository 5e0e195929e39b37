#pragma once
// Reading a limits file's YAML with errors that name the place and quote the bad value: shared by
// the project's own format (limiter/core/policy.cc) and Envoy ratelimit's
// (limiter/core/descriptor_config.cc).

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace rl::limiter {

// A value as error messages quote it: in quotes, cut to 40 bytes.
std::string Quoted(const std::string& value);

// Reads "250ms", "10s", "1.5m", "1h" or a bare number of seconds into milliseconds: digits with
// at most one decimal point inside, then an optional unit. From 1 ms to 31 days; anything else,
// however long, is nullopt (std::from_chars: no exceptions, no locale).
std::optional<int64_t> ParseDurationMs(std::string_view text);

// [A-Za-z0-9_.-]{1,64}
bool IsValidRuleName(std::string_view name);

// Parses `text` as YAML whose top level is a mapping; an error says "not valid YAML: ..." (with
// line and column) or that the top level is no mapping.
common::Result<YAML::Node> LoadYamlMapping(const std::string& text);

// Reads typed values out of YAML nodes; every failure is kept in `error`, one a line (up to
// kMaxErrors), each naming where.
class Reader {
 public:
  static constexpr int kMaxErrors = 50;
  common::Status error;
  bool ok() const { return error.ok(); }
  void Fail(const std::string& where, const std::string& why) {
    const std::string line = where + ": " + why;
    if (error.ok()) {
      error = common::Status::InvalidArgument(line);
    } else if (++errors_ < kMaxErrors) {
      error = common::Status::InvalidArgument(error.message() + "\n" + line);
    } else if (errors_ == kMaxErrors) {
      error = common::Status::InvalidArgument(error.message() + "\n(more errors not shown)");
    }
  }
  std::optional<int64_t> Int(const YAML::Node& n, const std::string& where, int64_t min,
                             int64_t max) {
    const std::string range =
        "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!n.IsScalar()) {
      Fail(where, "must be " + range);
      return std::nullopt;
    }
    const std::string& text = n.Scalar();
    int64_t v = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc() || end != text.data() + text.size() || v < min || v > max) {
      Fail(where, Quoted(text) + " is not " + range);
      return std::nullopt;
    }
    return v;
  }
  std::optional<std::string> Str(const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) {
      Fail(where, "must be a string");
      return std::nullopt;
    }
    return n.as<std::string>();
  }
  std::optional<bool> Bool(const YAML::Node& n, const std::string& where) {
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      Fail(where, "must be true or false");
      return std::nullopt;
    }
  }
  std::optional<int64_t> Duration(const YAML::Node& n, const std::string& where) {
    auto text = Str(n, where);
    if (!text) return std::nullopt;
    auto ms = ParseDurationMs(*text);
    if (!ms) {
      Fail(where,
           Quoted(*text) + " is not a duration such as 500ms, 10s, 5m or 1h (from 1ms to 31 days)");
    }
    return ms;
  }
  std::vector<std::string> StrList(const YAML::Node& n, const std::string& where) {
    std::vector<std::string> out;
    if (!n) return out;
    if (!n.IsSequence()) {
      Fail(where, "must be a list");
      return out;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      if (auto s = Str(n[i], where + "[" + std::to_string(i) + "]")) out.push_back(*s);
    }
    return out;
  }
  void OnlyKeys(const YAML::Node& n, const std::string& where, std::set<std::string> allowed) {
    if (!n.IsMap()) return;
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      if (!allowed.count(key)) Fail(where.empty() ? key : where + "." + key, "unknown setting");
    }
  }

 private:
  int errors_ = 0;
};

}  // namespace rl::limiter
