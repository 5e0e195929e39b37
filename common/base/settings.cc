#include "common/base/settings.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace rl::common {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitList(std::string_view list) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t comma = list.find(',');
    parts.push_back(Trim(list.substr(0, comma)));
    if (comma == std::string_view::npos) return parts;
    list.remove_prefix(comma + 1);
  }
}

Result<std::map<std::string, std::string>> EnvSource::ParseDotEnv(std::string_view text) {
  std::map<std::string, std::string> vars;
  int line_no = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = Trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export ") line = Trim(line.substr(7));
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument(".env line " + std::to_string(line_no) +
                                     ": expected KEY=VALUE");
    }
    std::string_view key = Trim(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else if (size_t hash = value.find(" #"); hash != std::string_view::npos) {
      value = Trim(value.substr(0, hash));
    }
    vars[std::string(key)] = std::string(value);
  }
  return vars;
}

Result<EnvSource> EnvSource::FromProcess() {
  std::map<std::string, std::string> vars;
  std::string path;
  if (const char* env_file = std::getenv("ENV_FILE"); env_file && *env_file) {
    path = env_file;
  } else if (std::ifstream(".env").good()) {
    path = ".env";
  }
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return Status::InvalidArgument("ENV_FILE: cannot read " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto parsed = ParseDotEnv(buffer.str());
    if (!parsed.ok()) return Status::InvalidArgument(path + ": " + parsed.status().message());
    vars = std::move(parsed.value());
  }
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    vars[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return EnvSource(std::move(vars));
}

const std::string* EnvSource::Find(std::string_view name) const {
  auto it = vars_.find(name);
  return it == vars_.end() ? nullptr : &it->second;
}

std::map<std::string, std::string> EnvSource::WithPrefix(std::string_view prefix) const {
  std::map<std::string, std::string> out;
  for (auto it = vars_.lower_bound(prefix); it != vars_.end() && it->first.rfind(prefix, 0) == 0;
       ++it) {
    out.emplace(it->first, it->second);
  }
  return out;
}

void SettingsLoader::Fail(const char* name, const std::string& value, const std::string& why) {
  if (!error_.ok()) return;
  error_ = Status::InvalidArgument(std::string(name) + "=\"" + value + "\": " + why);
}

void SettingsLoader::String(const char* name, std::string* field, bool required_non_empty) {
  if (const std::string* v = env_.Find(name)) *field = *v;
  if (required_non_empty && field->empty()) Fail(name, *field, "must not be empty");
}

void SettingsLoader::Int(const char* name, int64_t* field, int64_t min, int64_t max) {
  const std::string* v = env_.Find(name);
  if (!v) return;
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE) return Fail(name, *v, "expected an integer");
  if (parsed < min || parsed > max) {
    return Fail(name, *v,
                "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  *field = parsed;
}

void SettingsLoader::Int(const char* name, int* field, int min, int max) {
  int64_t wide = *field;
  Int(name, &wide, min, max);
  *field = static_cast<int>(wide);
}

void SettingsLoader::Double(const char* name, double* field, double min_exclusive, double max) {
  const std::string* v = env_.Find(name);
  if (!v) return;
  errno = 0;
  char* end = nullptr;
  double parsed = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno == ERANGE || !std::isfinite(parsed)) {
    return Fail(name, *v, "expected a decimal number");
  }
  if (parsed <= min_exclusive || parsed > max) {
    std::ostringstream range;
    range << "expected a number greater than " << min_exclusive << " and at most " << max;
    return Fail(name, *v, range.str());
  }
  *field = parsed;
}

void SettingsLoader::OneOf(const char* name, std::string* field,
                           std::initializer_list<std::string_view> allowed) {
  const std::string* v = env_.Find(name);
  if (!v) return;
  std::string options;
  for (std::string_view a : allowed) {
    if (*v == a) {
      *field = *v;
      return;
    }
    options += (options.empty() ? "" : "|") + std::string(a);
  }
  Fail(name, *v, "expected one of " + options);
}

void SettingsLoader::Bool(const char* name, bool* field) {
  const std::string* v = env_.Find(name);
  if (!v) return;
  if (*v == "1" || *v == "true" || *v == "yes" || *v == "on") {
    *field = true;
  } else if (*v == "0" || *v == "false" || *v == "no" || *v == "off") {
    *field = false;
  } else {
    Fail(name, *v, "expected true or false");
  }
}

}  // namespace rl::common
