#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "limiter/policy.h"

namespace rl::limiter {

// The active policy and where it came from. Immutable; replaced whole.
struct ActivePolicy {
  Policy policy;
  std::string hash;  // first 12 hex digits of the SHA-1 of the file, or "defaults"
  int64_t loaded_at_ms = 0;
};

// Holds the active policy. Readers take a snapshot that stays valid however long they keep it, so
// a reload never fails or mixes a request in flight. Thread-safe.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const ActivePolicy> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const ActivePolicy> Current() const { return std::atomic_load(&current_); }
  void Replace(std::shared_ptr<const ActivePolicy> next) {
    std::atomic_store(&current_, std::move(next));
  }

 private:
  std::shared_ptr<const ActivePolicy> current_;
};

// Reads and parses a limits file. A missing file is an error naming the path.
common::Result<std::shared_ptr<const ActivePolicy>> LoadPolicyFile(const std::string& path,
                                                                   const common::Clock& clock);

// Watches the limits file: checks its content every interval_ms and on Reload() (SIGHUP). A valid
// new file replaces the policy; an invalid one is logged with its error, counted as rejected, and
// the old policy stays (each time a rejected version is deployed again). A file that is not there
// keeps the active policy (logged once per absence); one that appears later is loaded.
class PolicyFileWatcher {
 public:
  PolicyFileWatcher(std::string path, PolicyHolder& holder, const common::Clock& clock,
                    common::MetricsRegistry& metrics, int interval_ms);
  ~PolicyFileWatcher();

  // Re-reads the file now; true if a new policy is active afterwards.
  bool Reload();

 private:
  void Loop();

  const std::string path_;
  PolicyHolder& holder_;
  const common::Clock& clock_;
  const int interval_ms_;
  common::Counter& reloaded_;
  common::Counter& rejected_;
  std::mutex reload_mu_;         // one reload at a time
  bool absence_logged_ = false;  // guarded by reload_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rl::limiter
