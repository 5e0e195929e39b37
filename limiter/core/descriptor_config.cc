#include "limiter/core/descriptor_config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "limiter/core/yaml_reader.h"

namespace rl::limiter {

using common::Result;
using common::Status;

namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::optional<DescriptorLimit> ReadLimit(Reader& r, const YAML::Node& n, const std::string& where) {
  if (!n.IsMap()) {
    r.Fail(where, "must be a mapping");
    return std::nullopt;
  }
  r.OnlyKeys(n, where, {"unit", "requests_per_unit", "unlimited", "name", "replaces", "algorithm"});
  DescriptorLimit limit;
  if (n["unlimited"]) {
    if (auto v = r.Bool(n["unlimited"], where + ".unlimited")) limit.unlimited = *v;
  }
  if (n["name"]) {
    if (auto v = r.Str(n["name"], where + ".name")) limit.name = *v;
  }
  if (limit.unlimited) {
    if (n["unit"] || n["requests_per_unit"]) {
      r.Fail(where, "an unlimited rate_limit has no unit or requests_per_unit");
    }
    return limit;
  }
  if (!n["unit"]) {
    r.Fail(where + ".unit", "is required (second, minute, hour, day, week, month or year)");
  } else if (auto unit = r.Str(n["unit"], where + ".unit")) {
    if (auto known = ParseRateLimitUnit(Lower(*unit))) {
      limit.unit = *known;
    } else {
      r.Fail(where + ".unit",
             Quoted(*unit) + " is not one of second, minute, hour, day, week, month, year");
    }
  }
  if (!n["requests_per_unit"]) {
    r.Fail(where + ".requests_per_unit", "is required");
  } else if (auto v = r.Int(n["requests_per_unit"], where + ".requests_per_unit", 0, 4294967295)) {
    limit.requests_per_unit = *v;
  }
  if (n["algorithm"]) {
    if (auto a = r.Str(n["algorithm"], where + ".algorithm")) {
      if (auto algorithm = ParseAlgorithm(*a)) {
        limit.algorithm = *algorithm;
      } else {
        r.Fail(where + ".algorithm", Quoted(*a) + " is not one of " + AlgorithmNames());
      }
    }
  }
  // 0 blocks every request, as in the reference; the other algorithms need a rate to refill.
  if (limit.requests_per_unit == 0 && limit.algorithm != Algorithm::kFixedWindow) {
    r.Fail(where + ".requests_per_unit", "0 (block every request) is only for fixed_window");
  }
  if (auto too_many = LimitError(limit.algorithm, limit.requests_per_unit)) {
    r.Fail(where + ".requests_per_unit", *too_many);
  }
  if (const YAML::Node& replaces = n["replaces"]) {
    if (!replaces.IsSequence()) {
      r.Fail(where + ".replaces", "must be a list of {name: ...}");
    } else {
      for (size_t i = 0; i < replaces.size(); ++i) {
        const std::string at = where + ".replaces[" + std::to_string(i) + "]";
        r.OnlyKeys(replaces[i], at, {"name"});
        if (!replaces[i].IsMap() || !replaces[i]["name"]) {
          r.Fail(at + ".name", "is required");
        } else if (auto name = r.Str(replaces[i]["name"], at + ".name")) {
          limit.replaces.push_back(*name);
        }
      }
    }
  }
  return limit;
}

void ReadDescriptors(Reader& r, const YAML::Node& list, const std::string& where,
                     const std::string& parent_stat_key, std::vector<DescriptorNode>* out) {
  if (!list.IsSequence()) {
    r.Fail(where, "must be a list");
    return;
  }
  std::set<std::string> seen;  // key and value: the reference refuses a repeat at one level
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const YAML::Node& n = list[i];
    if (!n.IsMap()) {
      r.Fail(at, "must be a mapping");
      continue;
    }
    r.OnlyKeys(n, at,
               {"key", "value", "rate_limit", "descriptors", "shadow_mode", "detailed_metric",
                "share_threshold", "value_to_metric", "quota_mode"});
    DescriptorNode node;
    node.path = at;
    if (!n["key"]) {
      r.Fail(at + ".key", "is required");
    } else if (auto key = r.Str(n["key"], at + ".key")) {
      node.key = *key;
      if (node.key.empty()) r.Fail(at + ".key", "must not be empty");
    }
    if (n["value"]) {
      if (auto value = r.Str(n["value"], at + ".value")) node.value = *value;
    }
    node.stat_key = (parent_stat_key.empty() ? "" : parent_stat_key + ".") + node.key +
                    (node.value.empty() ? "" : "_" + node.value);
    if (!seen.insert(node.key + "=" + node.value).second) {
      r.Fail(at, "the key " + Quoted(node.key) +
                     (node.value.empty() ? "" : " with value " + Quoted(node.value)) +
                     " is already at this level");
    }
    if (n["share_threshold"]) {
      if (auto v = r.Bool(n["share_threshold"], at + ".share_threshold")) {
        node.share_threshold = *v;
        if (*v && (node.value.empty() || node.value.back() != '*')) {
          r.Fail(at + ".share_threshold",
                 "needs a wildcard value (one ending in '*'), not " + Quoted(node.value));
        }
      }
    }
    if (n["value_to_metric"]) {
      if (auto v = r.Bool(n["value_to_metric"], at + ".value_to_metric")) node.value_to_metric = *v;
    }
    if (n["rate_limit"]) node.limit = ReadLimit(r, n["rate_limit"], at + ".rate_limit");
    bool shadow = false, detailed = false, quota = false;
    if (n["quota_mode"]) {
      if (auto v = r.Bool(n["quota_mode"], at + ".quota_mode")) quota = *v;
    }
    if (n["shadow_mode"]) {
      if (auto v = r.Bool(n["shadow_mode"], at + ".shadow_mode")) shadow = *v;
    }
    if (n["detailed_metric"]) {
      if (auto v = r.Bool(n["detailed_metric"], at + ".detailed_metric")) detailed = *v;
    }
    if (node.limit) {
      node.limit->shadow_mode = shadow;
      node.limit->detailed_metric = detailed;
      node.limit->quota_mode = quota;
    }
    if (n["descriptors"])
      ReadDescriptors(r, n["descriptors"], at + ".descriptors", node.stat_key, &node.descriptors);
    out->push_back(std::move(node));
  }
}

Result<DescriptorDomain> ParseOrThrow(const std::string& text, const std::string& source) {
  auto loaded = LoadYamlMapping(text);
  if (!loaded.ok()) return loaded.status();
  const YAML::Node root = loaded.value();
  Reader r;
  r.OnlyKeys(root, "", {"domain", "descriptors"});
  DescriptorDomain domain;
  domain.source = source;
  if (!root["domain"]) {
    r.Fail("domain", "is required");
  } else if (auto d = r.Str(root["domain"], "domain")) {
    domain.domain = *d;
    if (domain.domain.empty()) r.Fail("domain", "must not be empty");
  }
  if (root["descriptors"])
    ReadDescriptors(r, root["descriptors"], "descriptors", "", &domain.descriptors);
  if (!r.ok()) return r.error;
  return domain;
}

}  // namespace

LimitParams DescriptorLimit::Params() const {
  LimitParams p;
  p.algorithm = algorithm;
  p.limit = requests_per_unit;
  p.burst = requests_per_unit;
  p.window_ms = WindowMs();
  return p;
}

std::string DescriptorStatKey(const DescriptorNode& node, const DescriptorEntries& entries,
                              const std::vector<const DescriptorNode*>& path) {
  auto own = [](const std::string& k, const std::string& v) { return k + (v.empty() ? "" : "_" + v); };
  std::string key;
  if (node.limit && node.limit->detailed_metric) {
    for (const auto& [k, v] : entries) key += (key.empty() ? "" : ".") + own(k, v);
    return key;
  }
  const bool by_value = std::any_of(path.begin(), path.end(), [](const DescriptorNode* n) {
    return n->value_to_metric;
  });
  if (!by_value || path.size() > entries.size()) return node.stat_key;
  for (size_t i = 0; i < path.size(); ++i) {
    const DescriptorNode& level = *path[i];
    const bool request_value = level.value_to_metric && !level.share_threshold;
    key += (key.empty() ? "" : ".") +
           own(level.key, request_value ? entries[i].second : level.value);
  }
  return key;
}

bool IsDescriptorConfig(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    return root.IsMap() && root["domain"] && !root["rules"];
  } catch (const YAML::Exception&) {
    return false;
  }
}

Result<DescriptorDomain> ParseDescriptorConfig(const std::string& text, const std::string& source) {
  try {
    return ParseOrThrow(text, source);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("unexpected YAML structure: " + std::string(e.what()));
  }
}

namespace {

// A value ending in '*' (the reference's wildcard): matches every value with the prefix before it.
bool IsWildcard(const std::string& value) { return !value.empty() && value.back() == '*'; }

}  // namespace

const DescriptorNode* MatchDescriptor(const DescriptorDomain& domain,
                                      const DescriptorEntries& entries,
                                      std::vector<const DescriptorNode*>* path) {
  const std::vector<DescriptorNode>* level = &domain.descriptors;
  const DescriptorNode* found = nullptr;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    const DescriptorNode* next = nullptr;
    for (const DescriptorNode& node : *level) {  // the exact value first
      if (node.key == key && !node.value.empty() && node.value == value) next = &node;
    }
    for (const DescriptorNode& node : *level) {  // then a wildcard value, in the file's order
      if (next != nullptr) break;
      if (node.key == key && IsWildcard(node.value) &&
          std::string_view(value).substr(0, node.value.size() - 1) ==
              std::string_view(node.value).substr(0, node.value.size() - 1)) {
        next = &node;
      }
    }
    if (next == nullptr) {
      for (const DescriptorNode& node : *level) {
        if (node.key == key && node.value.empty()) next = &node;
      }
    }
    if (next == nullptr) return nullptr;
    if (path != nullptr) path->push_back(next);
    if (i + 1 == entries.size()) found = next->limit ? next : nullptr;
    if (next->descriptors.empty()) break;
    level = &next->descriptors;
  }
  return found;
}

DescriptorEntries CountedEntries(const DescriptorEntries& entries,
                                 const std::vector<const DescriptorNode*>& path) {
  DescriptorEntries counted = entries;
  for (size_t i = 0; i < path.size() && i < counted.size(); ++i) {
    if (path[i]->share_threshold) counted[i].second = path[i]->value;
  }
  return counted;
}

void ApplyReplaces(std::vector<const DescriptorNode*>& matches) {
  std::set<std::string> replaced;
  for (const DescriptorNode* m : matches) {
    if (m != nullptr) replaced.insert(m->limit->replaces.begin(), m->limit->replaces.end());
  }
  if (replaced.empty()) return;
  for (const DescriptorNode*& m : matches) {
    if (m != nullptr && !m->limit->name.empty() && replaced.count(m->limit->name)) m = nullptr;
  }
}

}  // namespace rl::limiter
