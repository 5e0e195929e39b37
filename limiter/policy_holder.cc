#include "policy_holder.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace rl::limiter {

namespace {

std::string ShortSha1(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

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

bool PolicyFileWatcher::Reload() {
  std::lock_guard reload_lock(reload_mu_);
  auto loaded = LoadPolicyFile(path_, clock_);
  if (!loaded.ok()) {
    rejected_.Inc();
    spdlog::error("policy: keeping version {} ({}): {}", holder_.Current()->policy.version,
                  holder_.Current()->hash, loaded.status().message());
    return false;
  }
  if (loaded.value()->hash == holder_.Current()->hash) return false;
  holder_.Replace(loaded.value());
  reloaded_.Inc();
  spdlog::info("policy: loaded {} version {} ({}): {} rules, {} tiers", path_,
               loaded.value()->policy.version, loaded.value()->hash,
               loaded.value()->policy.rules.size(), loaded.value()->policy.tiers.size());
  return true;
}

void PolicyFileWatcher::Loop() {
  std::string last_error;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                       [this] { return stopping_; })) {
        return;
      }
    }
    // Cheap check first: only a changed file is parsed (and only a bad one logged, once).
    std::ifstream in(path_);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string hash = in ? ShortSha1(buffer.str()) : "missing";
    if (hash == holder_.Current()->hash || hash == last_error) continue;
    if (!Reload()) last_error = hash;
  }
}

}  // namespace rl::limiter
