#include "limiter/core/yaml_reader.h"

#include <cmath>

namespace rl::limiter {

std::string Quoted(const std::string& value) {
  return "\"" + (value.size() > 40 ? value.substr(0, 40) + "..." : value) + "\"";
}

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  size_t digits = 0;
  bool point = false;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || (text[digits] == '.' && !point))) {
    point = point || text[digits] == '.';
    ++digits;
  }
  std::string_view number = text.substr(0, digits);
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && is_space(unit.front())) unit.remove_prefix(1);
  if (number.empty() || number.front() == '.' || number.back() == '.' || number.size() > 30) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size()) return std::nullopt;
  double scale;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s" || unit.empty()) {
    scale = 1e3;
  } else if (unit == "m") {
    scale = 6e4;
  } else if (unit == "h") {
    scale = 3.6e6;
  } else {
    return std::nullopt;
  }
  const double ms = value * scale;
  if (!(ms >= 1 && ms <= 31.0 * 24 * 3.6e6)) return std::nullopt;
  return static_cast<int64_t>(std::llround(ms));
}

bool IsValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

common::Result<YAML::Node> LoadYamlMapping(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return common::Status::InvalidArgument("not valid YAML: " + std::string(e.what()));
  }
  if (!root.IsMap()) return common::Status::InvalidArgument("the file must be a YAML mapping");
  return root;
}

}  // namespace rl::limiter
