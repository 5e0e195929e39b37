#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "proto-events/decision.pb.h"

namespace rl::analytics {

// The messages of one partition read but not yet applied: they cover offsets [start, next).
// `start` is the partition's stored position (where the last applied batch ended), so offset
// gaps in the log (transaction markers, compaction) never break the position check. Pure.
class PartitionBatch {
 public:
  // `start`: the stored position, or nullopt when none is stored (the first message sets it).
  explicit PartitionBatch(std::optional<int64_t> start) : start_(start) {}

  // Adds the message at `offset`; `decision` is nullopt for an undecodable one, which is
  // applied as nothing but still moves the position past it. Offsets below next() are ignored
  // (a re-delivery after a seek). `now_us` is a monotonic time, for age().
  void Add(int64_t offset, std::optional<events::v1::Decision> decision, int64_t now_us);

  bool empty() const { return messages_ == 0; }
  size_t messages() const { return messages_; }
  size_t undecodable() const { return undecodable_; }
  const std::vector<events::v1::Decision>& decisions() const { return decisions_; }
  // Position the batch starts from; nullopt only while empty with nothing stored.
  std::optional<int64_t> start() const { return start_; }
  // Offset after the last message; start() when empty.
  std::optional<int64_t> next() const { return next_ ? next_ : start_; }
  // Microseconds since the oldest message was added; 0 when empty.
  int64_t AgeUs(int64_t now_us) const { return empty() ? 0 : now_us - first_added_us_; }

  // The batch was applied: the next one starts where it ended.
  void MarkApplied();
  // Drops every message and starts again from `position` (another owner applied up to it).
  void ResetTo(int64_t position);

 private:
  std::optional<int64_t> start_;
  std::optional<int64_t> next_;
  std::vector<events::v1::Decision> decisions_;
  size_t messages_ = 0;
  size_t undecodable_ = 0;
  int64_t first_added_us_ = 0;
};

}  // namespace rl::analytics
