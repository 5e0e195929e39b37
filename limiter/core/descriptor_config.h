#pragma once
// Envoy ratelimit's configuration format (envoyproxy/ratelimit), accepted as is: one domain per
// file, nested descriptors of key and optional value, each with an optional rate limit. And its
// matching rules, so that the same config gives the same answers as the reference service:
//   - per request descriptor entry, a node whose key and value both match is chosen before a node
//     whose value ends in '*' and is a prefix of the request's (a wildcard, first in the file's
//     order), and that before a node with that key and no value;
//   - a limit applies only when the node that matched the descriptor's last entry has one (a
//     request descriptor deeper or shallower than the config gets no limit);
//   - no match means no limit; `unlimited: true` means explicitly none;
//   - a matched limit whose `replaces` names other matched limits of the same request removes
//     those.
// One extension: `algorithm` (default fixed_window, as the reference counts) picks any of this
// project's algorithms per descriptor.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "limiter/core/algorithm/algorithms.h"
#include "limiter/core/algorithm/rate_limit_unit.h"

namespace rl::limiter {

// A rate_limit of the reference format.
struct DescriptorLimit {
  bool unlimited = false;
  RateLimitUnit unit = RateLimitUnit::kUnknown;
  int64_t requests_per_unit = 0;
  std::string name;  // optional; what `replaces` refers to
  Algorithm algorithm = Algorithm::kFixedWindow;
  std::vector<std::string> replaces;
  bool shadow_mode = false;
  bool detailed_metric = false;
  // A soft limit (the reference's quota_mode): over it, the descriptor's status says so, but the
  // answer is OVER_LIMIT only when every quota group of the request is over (QuotaGroupKey).
  bool quota_mode = false;

  // The unit's length; 0 for an unknown unit.
  int64_t WindowMs() const { return UnitWindowMs(unit); }
  LimitParams Params() const;
};

struct DescriptorNode {
  std::string key;
  std::string value;  // empty: any value of the key
  std::optional<DescriptorLimit> limit;
  std::vector<DescriptorNode> descriptors;
  bool value_to_metric = false;  // statistics name this level by the request's value
  std::string path;  // where it is in the file, e.g. descriptors[0].descriptors[1] (for errors)
  // The reference's statistics key of the node: its own and its parents' keys, each with "_value"
  // when the node has a value, joined by '.', e.g. "key1_value1.subkey1".
  std::string stat_key;
  // share_threshold (a wildcard value only): every value the wildcard matches counts against one
  // shared counter, instead of one counter per value.
  bool share_threshold = false;
};

struct DescriptorDomain {
  std::string domain;
  std::vector<DescriptorNode> descriptors;
  std::string source;  // the file
};

// Whether a parsed YAML file is in the reference format (a top-level `domain`).
bool IsDescriptorConfig(const std::string& text);

// Parses one file of the reference format. Errors name the place and quote the value, like the
// project's own format.
common::Result<DescriptorDomain> ParseDescriptorConfig(const std::string& text,
                                                       const std::string& source);

// One request descriptor: its entries in order.
using DescriptorEntries = std::vector<std::pair<std::string, std::string>>;

// The node whose limit applies to `entries` (the rules above, `replaces` aside), or nullptr when
// no limit applies (no match, a match without a limit, or a depth mismatch). An `unlimited` limit
// is returned as such: the caller answers OK without a counter.
// `path`, if given, receives the node each entry matched, in order (as far as the match went).
const DescriptorNode* MatchDescriptor(const DescriptorDomain& domain,
                                      const DescriptorEntries& entries,
                                      std::vector<const DescriptorNode*>* path = nullptr);

// The entries a matched descriptor is counted by: the request's, except that an entry matched by
// a wildcard with share_threshold counts as the wildcard's value. Pure.
DescriptorEntries CountedEntries(const DescriptorEntries& entries,
                                 const std::vector<const DescriptorNode*>& path);

// The descriptor label of the reference's per-descriptor statistics for a request descriptor that
// `node` matched: the node's stat_key, or with `detailed_metric` the request's own entries
// ("key1_value1.subkey1_subvalue1"), as the reference names them. Pure.
// `path`: the node matched at each level (MatchDescriptor's), for `value_to_metric`: a level
// whose node has it is named by the request's own value (key_value) when it matched by key
// alone or by a wildcard, as the reference names its statistics (share_threshold keeps the
// wildcard).
std::string DescriptorStatKey(const DescriptorNode& node, const DescriptorEntries& entries,
                              const std::vector<const DescriptorNode*>& path = {});

// Applies `replaces` across one request's matches (nullptr: no limit): a match is dropped when
// another match's limit names it in `replaces`. In place.
void ApplyReplaces(std::vector<const DescriptorNode*>& matches);

}  // namespace rl::limiter
