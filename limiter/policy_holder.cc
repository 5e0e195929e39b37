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

common::Result<std::shared_ptr<const ActivePolicy>> LoadPolicyFile(const std::string& path,
                                                                   const common::Clock& clock) {
  std::ifstream in(path);
  if (!in) return common::Status::InvalidArgument("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  auto policy = ParsePolicyYaml(text, path);
  if (!policy.ok()) return common::Status::InvalidArgument(path + ": " + policy.status().message());
  auto active = std::make_shared<ActivePolicy>();
  active->policy = std::move(policy.value());
  active->hash = ShortSha1(text);
  active->loaded_at_ms = clock.NowMs();
  return std::shared_ptr<const ActivePolicy>(std::move(active));
}

PolicyFileWatcher::PolicyFileWatcher(std::string path, PolicyHolder& holder,
                                     const common::Clock& clock, common::MetricsRegistry& metrics,
                                     int interval_ms)
    : path_(std::move(path)),
      holder_(holder),
      clock_(clock),
      interval_ms_(interval_ms),
      reloaded_(metrics.AddCounter("rl_policy_reloads_total", "Limits file reloads",
                                   {{"result", "applied"}})),
      rejected_(metrics.AddCounter("rl_policy_reloads_total", "Limits file reloads",
                                   {{"result", "rejected"}})),
      thread_([this] { Loop(); }) {}

PolicyFileWatcher::~PolicyFileWatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

namespace {

// The file's content, or nullopt if it cannot be read (missing, a directory, no permission).
std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return buffer.str();
}

}  // namespace

bool PolicyFileWatcher::Reload() {
  std::lock_guard reload_lock(reload_mu_);
  auto current = holder_.Current();
  if (!ReadFile(path_)) {
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
  auto loaded = LoadPolicyFile(path_, clock_);
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

void PolicyFileWatcher::Loop() {
  // The hash of the last version rejected, so that a bad file is parsed and reported once, not
  // at every interval; any other content (a good version in between included) clears it, so
  // deploying the same bad file again is reported and counted again.
  std::string last_rejected;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                       [this] { return stopping_; })) {
        return;
      }
    }
    std::optional<std::string> text = ReadFile(path_);
    if (!text) {
      Reload();  // logs the absence once
      continue;
    }
    const std::string hash = ShortSha1(*text);
    if (hash == holder_.Current()->hash) {
      last_rejected.clear();
      continue;
    }
    if (hash == last_rejected) continue;
    last_rejected = Reload() ? "" : hash;
  }
}

}  // namespace rl::limiter
