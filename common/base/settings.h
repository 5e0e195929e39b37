#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace rl::common {

// Without leading and trailing spaces, tabs and carriage returns.
std::string_view Trim(std::string_view s);
// "a, b ,c" -> {"a", "b", "c"}: split on commas, each part trimmed; empty parts are kept.
std::vector<std::string_view> SplitList(std::string_view list);

// Where settings come from: the process environment over an optional .env file.
// The file is ENV_FILE if set, otherwise ./.env if it exists. Environment variables win.
class EnvSource {
 public:
  // Reads the real environment (and the .env file as described above).
  static Result<EnvSource> FromProcess();
  // For tests: exactly these variables.
  explicit EnvSource(const std::map<std::string, std::string>& vars)
      : vars_(vars.begin(), vars.end()) {}

  // Parses `KEY=VALUE` lines (comments, blank lines, `export ` and surrounding quotes allowed).
  static Result<std::map<std::string, std::string>> ParseDotEnv(std::string_view text);

  const std::string* Find(std::string_view name) const;
  // Every variable.
  std::map<std::string, std::string> Vars() const { return {vars_.begin(), vars_.end()}; }
  // Every variable whose name starts with `prefix`.
  std::map<std::string, std::string> WithPrefix(std::string_view prefix) const;

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

// Overwrites fields whose variable is set, validating each; defaults live in the settings structs.
// The first invalid setting is reported by Finish(), naming the variable.
class SettingsLoader {
 public:
  explicit SettingsLoader(const EnvSource& env) : env_(env) {}

  void String(const char* name, std::string* field, bool required_non_empty = false);
  void Int(const char* name, int64_t* field, int64_t min, int64_t max);
  void Int(const char* name, int* field, int min, int max);
  // Accepts a finite decimal strictly greater than min_exclusive and at most max.
  void Double(const char* name, double* field, double min_exclusive, double max);
  void OneOf(const char* name, std::string* field, std::initializer_list<std::string_view> allowed);
  void Bool(const char* name, bool* field);

  Status Finish() const { return error_; }

 private:
  void Fail(const char* name, const std::string& value, const std::string& why);
  const EnvSource& env_;
  Status error_;
};

}  // namespace rl::common
