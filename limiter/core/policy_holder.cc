#include "limiter/core/policy_holder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/base/digest.h"

namespace rl::limiter {

namespace {

// `status` with `prefix: ` before each line of its message (one error a line).
common::Status PrefixEachLine(const std::string& prefix, const common::Status& status) {
  std::istringstream lines(status.message());
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    out += (out.empty() ? "" : "\n") + prefix + ": " + line;
  }
  return common::Status::InvalidArgument(out);
}

std::string ShortSha1(const std::string& text) { return common::Sha1Hex(text, 12); }

}  // namespace

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return buffer.str();
}

namespace {
constexpr std::string_view kBundleMarker = "#@rl-limits-file ";
}  // namespace

std::optional<std::string> ReadLimits(const std::string& path, bool skip_hidden) {
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return ReadWholeFile(path);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    const std::string ext = entry.path().extension().string();
    const std::string name = entry.path().filename().string();
    if (skip_hidden && name.front() == '.') continue;
    if (entry.is_regular_file(error) && (ext == ".yaml" || ext == ".yml")) {
      names.push_back(name);
    }
  }
  if (error) return std::nullopt;
  std::sort(names.begin(), names.end());
  std::vector<BundleFile> files;
  for (const auto& name : names) {
    auto text = ReadWholeFile(path + "/" + name);
    if (!text) return std::nullopt;
    files.push_back({name, std::move(*text)});
  }
  return JoinBundle(files);
}

std::vector<BundleFile> SplitBundle(const std::string& bundle) {
  std::vector<BundleFile> files;
  size_t at = 0;
  while ((at = bundle.find(kBundleMarker, at)) != std::string::npos) {
    const size_t name_start = at + kBundleMarker.size();
    const size_t name_end = std::min(bundle.find('\n', name_start), bundle.size());
    const size_t next = bundle.find(kBundleMarker, name_end);
    const size_t text_start = std::min(name_end + 1, bundle.size());
    const size_t text_end = next == std::string::npos ? bundle.size() : next;
    // ReadLimits ends each file with one "\n" of its own.
    std::string text = bundle.substr(text_start, text_end - text_start);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    files.push_back({bundle.substr(name_start, name_end - name_start), std::move(text)});
    at = name_end;
  }
  return files;
}

std::string JoinBundle(const std::vector<BundleFile>& files) {
  std::string bundle;
  for (const auto& file : files) {
    bundle += std::string(kBundleMarker) + file.name + "\n" + file.text + "\n";
  }
  return bundle;
}

common::Result<Policy> ParseLimitsBundle(const std::string& bundle, const std::string& directory,
                                         BundleFile* own_format_file) {
  Policy merged;
  merged.source = directory;
  bool has_rules = false;
  std::string errors;  // every file's, one a line
  std::vector<std::string> versions;
  if (own_format_file != nullptr) *own_format_file = {};
  for (const auto& [name, text] : SplitBundle(bundle)) {
    const std::string file = directory + "/" + name;
    auto policy = ParsePolicyYaml(text, file);
    if (!policy.ok()) {  // every file's errors, not just the first file's
      errors += (errors.empty() ? "" : "\n") + PrefixEachLine(file, policy.status()).message();
      continue;
    }
    if (policy->domains.empty()) {
      if (has_rules) {
        return common::Status::InvalidArgument(
            name + ": a second file of the project's own format (one holds the rules)");
      }
      has_rules = true;
      if (own_format_file != nullptr) *own_format_file = {name, text};
      auto domains = std::move(merged.domains);
      merged = std::move(policy.value());
      merged.domains = std::move(domains);
      merged.source = directory;
    }
    for (auto& [domain, config] : policy->domains) {
      if (merged.domains.count(domain)) {
        return common::Status::InvalidArgument(name + ": the domain \"" + domain +
                                               "\" is already defined in " +
                                               merged.domains[domain].source);
      }
      merged.domains[domain] = std::move(config);
    }
    versions.push_back(name);
  }
  if (!errors.empty()) return common::Status::InvalidArgument(errors);
  if (versions.empty()) {
    return common::Status::InvalidArgument("no *.yaml or *.yml file in the directory");
  }
  if (!has_rules) merged.version = "domains";
  return merged;
}

common::Result<std::shared_ptr<const ActivePolicy>> ActivePolicyFromText(
    const std::string& text, const std::string& path, const common::Clock& clock) {
  const bool bundle =
      text.rfind(kBundleMarker, 0) == 0 || (text.empty() && std::filesystem::is_directory(path));
  BundleFile own_format_file;
  auto policy =
      bundle ? ParseLimitsBundle(text, path, &own_format_file) : ParsePolicyYaml(text, path);
  // Each error line names its file: the file, or in a directory the file in it.
  if (!policy.ok()) return bundle ? policy.status() : PrefixEachLine(path, policy.status());
  auto active = std::make_shared<ActivePolicy>();
  active->policy = std::move(policy.value());
  active->hash = ShortSha1(text);
  active->loaded_at_ms = clock.NowMs();
  active->own_format_file = std::move(own_format_file.name);
  active->own_format_text = std::move(own_format_file.text);
  return std::shared_ptr<const ActivePolicy>(std::move(active));
}

common::Result<std::shared_ptr<const ActivePolicy>> LoadPolicyFile(const std::string& path,
                                                                   const common::Clock& clock,
                                                                   bool skip_hidden) {
  auto text = ReadLimits(path, skip_hidden);
  if (!text) return common::Status::InvalidArgument("cannot read " + path);
  return ActivePolicyFromText(*text, path, clock);
}

int CheckConfig(const std::string& path, std::ostream& out, std::ostream& err) {
  common::SystemClock clock;
  auto loaded = LoadPolicyFile(path, clock);
  if (!loaded.ok()) {
    err << loaded.status().message() << "\n";  // one error a line, each naming its file
    return 1;
  }
  const Policy& p = loaded.value()->policy;
  out << path << ": valid: " << p.rules.size() << " rules, " << p.tiers.size() << " tiers, "
      << p.api_keys.size() << " API keys, " << p.domains.size() << " descriptor domains";
  for (const auto& [name, domain] : p.domains)
    out << (name == p.domains.begin()->first ? " (" : ", ") << name;
  if (!p.domains.empty()) out << ")";
  out << "\n";
  return 0;
}

PolicyFileWatcher::PolicyFileWatcher(std::string path, PolicyHolder& holder,
                                     const common::Clock& clock, common::MetricsRegistry& metrics,
                                     FileReader read)
    : path_(std::move(path)),
      holder_(holder),
      clock_(clock),
      read_(std::move(read)),
      reloaded_(metrics.AddCounter("rl_policy_reloads_total", "Limits file reloads",
                                   {{"result", "applied"}})),
      rejected_(metrics.AddCounter("rl_policy_reloads_total", "Limits file reloads",
                                   {{"result", "rejected"}})),
      missing_files_(metrics.AddGauge(
          "rl_policy_missing_files",
          "Files of the project's format that left the limits directory while their rules stay "
          "in force (1: restore the file, or write one with rules: [])")) {}

bool PolicyFileWatcher::Reload() {
  std::lock_guard lock(mu_);
  return ReloadLocked(read_(path_));
}

void PolicyFileWatcher::Poll() {
  std::lock_guard lock(mu_);
  const std::optional<std::string> text = read_(path_);
  if (!text) {
    ReloadLocked(text);  // logs the absence once
    return;
  }
  // Cheap check first: only changed content is parsed, and a rejected version only once until
  // other content appears (a good version in between included).
  const std::string hash = ShortSha1(*text);
  if (hash == holder_.Current()->hash) {
    last_rejected_.clear();
    return;
  }
  if (hash == last_rejected_) return;
  last_rejected_ = ReloadLocked(text) ? "" : hash;
}

bool PolicyFileWatcher::ReloadLocked(const std::optional<std::string>& text) {
  auto current = holder_.Current();
  if (!text) {
    // A file that is not there (yet, or any more) changes nothing; say so once per absence.
    if (!absence_logged_) {
      absence_logged_ = true;
      if (current->policy.source == path_) {
        spdlog::warn(
            "policy: {} cannot be read (removed?); keeping version {} ({}) until it is back", path_,
            current->policy.version, current->hash);
      } else {
        spdlog::info("policy: no limits file at {}; keeping {} and watching for one", path_,
                     current->policy.version == "defaults" ? "the built-in defaults (DEFAULT_*)"
                                                           : "version " + current->policy.version);
      }
    }
    return false;
  }
  absence_logged_ = false;
  auto loaded = ActivePolicyFromText(*text, path_, clock_);
  if (!loaded.ok()) {
    rejected_.Inc();
    spdlog::error("policy: keeping version {} ({}): {}", current->policy.version, current->hash,
                  loaded.status().message());
    return false;
  }
  if (loaded.value()->hash == current->hash) return false;
  std::shared_ptr<const ActivePolicy> next =
      KeepOwnFormatFileThatLeft(*current, loaded.value(), *text);
  if (!next) {
    rejected_.Inc();
    return false;
  }
  for (const auto& [domain, config] : current->policy.domains) {
    if (!next->policy.domains.count(domain)) {
      spdlog::warn("policy: {} is no longer in {}: the domain {} is unloaded", config.source, path_,
                   domain);
    }
  }
  missing_files_.Set(next->own_format_file_missing ? 1 : 0);
  holder_.Replace(next);
  reloaded_.Inc();
  spdlog::info("policy: loaded {} version {} ({}): {} rules, {} tiers, {} domains", path_,
               next->policy.version, next->hash, next->policy.rules.size(),
               next->policy.tiers.size(), next->policy.domains.size());
  return true;
}

std::shared_ptr<const ActivePolicy> PolicyFileWatcher::KeepOwnFormatFileThatLeft(
    const ActivePolicy& current, std::shared_ptr<const ActivePolicy> loaded,
    const std::string& text) {
  if (current.own_format_file.empty() || !loaded->own_format_file.empty()) return loaded;
  // No file of the project's format in the directory any more (deleted, renamed, or its name now
  // holds an Envoy-format file): only such a file can change the rules, so the last ones stay.
  std::vector<BundleFile> files = SplitBundle(text);
  files.push_back({current.own_format_file, current.own_format_text});
  auto kept = ActivePolicyFromText(JoinBundle(files), path_, clock_);
  if (!kept.ok()) {
    spdlog::error(
        "policy: keeping version {} ({}): {}/{} left the directory, and the rest does "
        "not load with its rules: {}",
        current.policy.version, current.hash, path_, current.own_format_file,
        kept.status().message());
    return nullptr;
  }
  auto next = std::make_shared<ActivePolicy>(*kept.value());
  next->hash = loaded->hash;  // the directory as it is, so the watcher does not reload it again
  next->own_format_file_missing = true;
  if (!current.own_format_file_missing) {
    spdlog::warn(
        "policy: {}/{} is no longer a file of the project's format in the directory; its rules "
        "(version {}) stay in force until one is back (to remove the rules, write one with "
        "`rules: []`)",
        path_, current.own_format_file, current.policy.version);
  }
  return next;
}

}  // namespace rl::limiter
