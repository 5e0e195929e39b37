#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "limiter/core/policy.h"

namespace rl::limiter {

// The active policy and where it came from. Immutable; replaced whole.
struct ActivePolicy {
  Policy policy;
  std::string hash;  // first 12 hex digits of the SHA-1 of the file, or "defaults"
  int64_t loaded_at_ms = 0;
  // LIMITS_FILE a directory: the file of the project's own format in it (its name and the text
  // that is in force), empty if none. A watcher keeps this text when the file leaves the
  // directory.
  std::string own_format_file;
  std::string own_format_text;
  // The own-format file is no longer in the directory: its last text is still in force.
  bool own_format_file_missing = false;
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

// A file's whole content, or nullopt if it cannot be read (missing, a directory, no permission).
std::optional<std::string> ReadWholeFile(const std::string& path);

// What LIMITS_FILE holds: a file's content, or for a directory its *.yaml and *.yml files, sorted
// by name, as one bundle (each file after a line "#@rl-limits-file <name>"); nullopt if neither
// can be read. The bundle changes whenever any of its files does, so the watcher reloads.
// `skip_hidden` (LIMITS_IGNORE_DOTFILES): a directory's files whose name starts with '.' are not
// read. Subdirectories never are (a Kubernetes ConfigMap's ..data among them).
std::optional<std::string> ReadLimits(const std::string& path, bool skip_hidden = false);

// Parses a bundle of files (ReadLimits of a directory) into one policy: at most one file of the
// project's own format (its rules, tiers and keys) and any number of Envoy ratelimit files, one
// domain each and no domain twice. Errors name the file. Pure.
// One file of a bundle, and the bundle's files in order.
struct BundleFile {
  std::string name;
  std::string text;
};

// `own_format_file`, if given, receives the project's own-format file (empty name if none).
common::Result<Policy> ParseLimitsBundle(const std::string& bundle, const std::string& directory,
                                         BundleFile* own_format_file = nullptr);
std::vector<BundleFile> SplitBundle(const std::string& bundle);
std::string JoinBundle(const std::vector<BundleFile>& files);
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

// Parses the text of the limits file at `path` into the policy to activate. Pure but for the
// clock's reading.
common::Result<std::shared_ptr<const ActivePolicy>> ActivePolicyFromText(
    const std::string& text, const std::string& path, const common::Clock& clock);

// Reads and parses a limits file. A missing file is an error naming the path.
common::Result<std::shared_ptr<const ActivePolicy>> LoadPolicyFile(const std::string& path,
                                                                   const common::Clock& clock,
                                                                   bool skip_hidden = false);

// limiter --check-config FILE (and rlctl config validate): parses and validates FILE (a file or a
// directory bundle) without connecting to anything. Writes a summary to `out` and returns 0, or
// writes every error, one a line prefixed with the file, to `err` and returns 1.
int CheckConfig(const std::string& path, std::ostream& out, std::ostream& err);

// Watches the limits file. Poll() (every LIMITS_RELOAD_INTERVAL_MS, from a common::PeriodicThread)
// and Reload() (SIGHUP, at once) read it: a valid new version replaces the policy; an invalid one
// is logged with its error, counted as rejected, and the old policy stays; Poll() reports a
// rejected version once, and again whenever it is deployed anew after other content. A file that
// is not there keeps the active policy (logged once per absence); one that appears later is
// loaded. In a directory, when the file of the project's own format leaves it (deleted, renamed to
// *.bak, overwritten by an Envoy-format file) its rules stay in force, with a warn log and
// rl_policy_missing_files at 1, until a file of that format is in the directory again: rules are
// removed only by a file that says so (`rules: []`), never by a missing one. An Envoy-format file
// that leaves unloads its domain, as envoyproxy/ratelimit does (logged at warn). `read` is
// injectable for tests. Thread-safe.
class PolicyFileWatcher {
 public:
  PolicyFileWatcher(std::string path, PolicyHolder& holder, const common::Clock& clock,
                    common::MetricsRegistry& metrics,
                    FileReader read = [](const std::string& path) { return ReadLimits(path); });

  // One periodic check: loads the file if its content changed.
  void Poll();
  // Re-reads the file now; true if a new policy is active afterwards.
  bool Reload();

 private:
  bool ReloadLocked(const std::optional<std::string>& text);
  // `loaded` (from the directory's `text`), or, when the own-format file of `current` is no
  // longer in the directory, `loaded` with that file's last text in force; nullptr if that does
  // not load.
  std::shared_ptr<const ActivePolicy> KeepOwnFormatFileThatLeft(
      const ActivePolicy& current, std::shared_ptr<const ActivePolicy> loaded,
      const std::string& text);

  const std::string path_;
  PolicyHolder& holder_;
  const common::Clock& clock_;
  const FileReader read_;
  common::Counter& reloaded_;
  common::Counter& rejected_;
  common::Gauge& missing_files_;
  std::mutex mu_;  // one reload at a time; guards what follows
  bool absence_logged_ = false;
  std::string last_rejected_;  // hash of the last version rejected by Poll
};

}  // namespace rl::limiter
