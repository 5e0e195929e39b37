#include "limiter/policy_holder.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "common/base/digest.h"

namespace rl::limiter {

namespace {

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

common::Result<std::shared_ptr<const ActivePolicy>> ActivePolicyFromText(
    const std::string& text, const std::string& path, const common::Clock& clock) {
  auto policy = ParsePolicyYaml(text, path);
  if (!policy.ok()) return common::Status::InvalidArgument(path + ": " + policy.status().message());
  auto active = std::make_shared<ActivePolicy>();
  active->policy = std::move(policy.value());
  active->hash = ShortSha1(text);
  active->loaded_at_ms = clock.NowMs();
  return std::shared_ptr<const ActivePolicy>(std::move(active));
}

common::Result<std::shared_ptr<const ActivePolicy>> LoadPolicyFile(const std::string& path,
                                                                   const common::Clock& clock) {
  auto text = ReadWholeFile(path);
  if (!text) return common::Status::InvalidArgument("cannot read " + path);
  return ActivePolicyFromText(*text, path, clock);
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
                                   {{"result", "rejected"}})) {}

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
  holder_.Replace(loaded.value());
  reloaded_.Inc();
  spdlog::info("policy: loaded {} version {} ({}): {} rules, {} tiers", path_,
               loaded.value()->policy.version, loaded.value()->hash,
               loaded.value()->policy.rules.size(), loaded.value()->policy.tiers.size());
  return true;
}

}  // namespace rl::limiter
