#include "analytics-worker/partition_batch.h"

namespace rl::analytics {

void PartitionBatch::Add(int64_t offset, std::optional<events::v1::Decision> decision,
                         int64_t now_us) {
  if (auto n = next(); n && offset < *n) return;
  if (!start_) start_ = offset;
  if (messages_ == 0) first_added_us_ = now_us;
  ++messages_;
  next_ = offset + 1;
  if (decision) {
    decisions_.push_back(std::move(*decision));
  } else {
    ++undecodable_;
  }
}

void PartitionBatch::MarkApplied() { ResetTo(*next()); }

void PartitionBatch::ResetTo(int64_t position) {
  start_ = position;
  next_.reset();
  decisions_.clear();
  messages_ = 0;
  undecodable_ = 0;
}

}  // namespace rl::analytics
