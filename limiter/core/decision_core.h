#pragma once
// The decision core in two phases, with no I/O in either: Plan answers what the policy alone can
// answer and lists the store work the rest needs; Complete turns the store's answers into results
// and the events to publish. A synchronous caller (DecisionService) and an asynchronous one run
// the same phases; only who does the store work, and when, differs.
//
//   DecisionPlan plan = core.Plan(context, policies.Current(), requests);
//   if (!plan.key_lookups().empty()) core.ResolveKeys(plan, <LookupApiKeys of them>);
//   Decisions decided = core.Complete(std::move(plan), <DecideMany of plan.rule_checks()>);

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/status.h"
#include "limiter/core/blocked_cache.h"
#include "limiter/core/check_request.h"
#include "limiter/core/decision_event.h"
#include "limiter/core/decision_store.h"
#include "limiter/core/policy_holder.h"
#include "limiter/core/request_context.h"
#include "limiter/core/verdict.h"

namespace rl::limiter {

enum class FailMode { kOpen, kClosed };

struct ServiceOptions {
  FailMode fail_mode = FailMode::kOpen;       // FAIL_MODE
  int64_t fail_closed_retry_after_ms = 1000;  // FAIL_CLOSED_RETRY_AFTER_MS
  std::string limiter_id;                     // LIMITER_ID, prefix of every event_id
  // A request's deadline (RequestContext), from when it arrived: REDIS_TIMEOUT_MS. 0: none.
  int64_t request_deadline_ms = 0;
};

// One rule that applied, for RateLimit-Policy: its configured quota per window, and the burst
// (the bucket's capacity) where a bucket algorithm's differs from the quota.
struct RuleSummary {
  std::string name;
  int64_t quota = 0;     // the rule's `limit`
  int64_t window_s = 0;  // its `window`, rounded up to seconds
  int64_t burst = 0;     // 0 unless a bucket algorithm's capacity differs from `quota`
  bool shadow = false;   // in shadow mode: counted, never enforced, never in client headers
};

// The enforced rule that client headers speak for: the one that blocked, else the enforced one
// closest to its limit. Empty `rule` when every rule that applied is in shadow mode.
struct EnforcedLimit {
  std::string rule;
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
};

// The answer to one check, in the domain's terms: front ends map it to their protocol.
struct CheckResult {
  Verdict verdict = Verdict::kAllowed;
  std::string rule;  // the rule reported: the one that blocked, or the one closest to its limit
  bool unlimited = false;  // no rule limits the request (allow list, no rule matched)
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;  // until this request would be admitted: every rule and ban allows it
  int64_t window_s = 0;
  RateLimitUnit unit = RateLimitUnit::kUnknown;  // the window's unit, for a descriptor's limit
  std::vector<RuleSummary> policies;  // every rule that applied
  EnforcedLimit enforced;             // what the RateLimit headers report
  std::string error_message;          // why, for kInvalid and kUnauthenticated

  bool allowed() const { return Admits(verdict); }
  // True when rules were decided by the store, so the limit state in the answer is real.
  bool HasLimitState() const;
};

// What a batch of checks came to: one result per request, in order, the events of the decisions
// among them, and the policy they were decided under (for whatever the answer still needs of it,
// such as its ban status: never a newer one a reload swapped in meanwhile).
struct Decisions {
  std::shared_ptr<const ActivePolicy> policy;
  std::vector<CheckResult> results;
  std::vector<DecisionEvent> events;
  // Of descriptors (PlanDescriptors): what each matched in `policy`, in order.
  std::vector<DescriptorMatch> descriptor_matches;
};

// A batch of checks planned under one policy. The store work comes in two steps: the API keys to
// look up (key_lookups, all in the policy's hash), then, once ResolveKeys has their entries, the
// rule checks to decide (rule_checks, one list per request the store must decide, in request
// order). Holds references to the requests, which must outlive it.
class DecisionPlan {
 public:
  // The request (or batch) the plan decides: its id and deadline.
  const RequestContext& context() const { return context_; }
  const std::shared_ptr<const ActivePolicy>& policy() const { return policy_; }
  // Step 1: the keys whose entries ResolveKeys needs, in policy().policy.api_keys_redis_hash.
  const std::vector<std::string>& key_lookups() const { return key_lookups_; }
  // Step 2 (after ResolveKeys, or at once when no key needs a lookup): what Complete needs the
  // store's answers to, one StoreAnswer per entry, in order.
  const std::vector<std::vector<RuleCheck>>& rule_checks() const { return rule_checks_; }

 private:
  friend class DecisionCore;
  enum class Stage { kKeys, kRules, kDone };
  struct Item {
    const CheckRequest* request = nullptr;
    CheckResult result;
    bool answered = false;      // result holds the answer: nothing for the store to do
    bool decided = true;        // false: answered without a decision (no event)
    std::string user_id;        // whom the decision's event names
    int64_t ts_ms = 0;          // when it was decided: the store's clock if the store decided
    int lookup = -1;            // index into key_lookups_ while the key is unknown
    std::vector<RuleCheck> checks;  // what the store must decide, until moved to rule_checks_
    int store_index = -1;       // index into rule_checks_
    std::string cache_signature;  // non-empty: the store's answer may go to the blocked cache
    BlockedCache::Ticket cache_ticket;
  };

  RequestContext context_;
  std::shared_ptr<const ActivePolicy> policy_;
  std::vector<Item> items_;
  std::vector<DescriptorMatch> descriptor_matches_;
  std::vector<std::string> key_lookups_;
  std::vector<std::vector<RuleCheck>> rule_checks_;
  Stage stage_ = Stage::kKeys;
};

// Plans and completes checks: resolution of API keys, lists and rules under one policy, answers
// from the blocked cache (if given: a request the store has just blocked is answered locally until
// its retry time), the fail mode where the store could not answer, one event per decision, and
// the counters. No I/O. Thread-safe (a plan belongs to one caller at a time).
class DecisionCore {
 public:
  DecisionCore(const common::Clock& clock, common::MetricsRegistry& metrics,
               ServiceOptions options, BlockedCache* blocked_cache = nullptr);

  // A context for a request arriving now: `request_id`, and the deadline the options give.
  RequestContext NewContext(std::string request_id) const;
  // Resolves what `policy` alone can answer; lists the store work of the rest. `context` is the
  // request's (a batch's, for all its checks).
  DecisionPlan Plan(RequestContext context, std::shared_ptr<const ActivePolicy> policy,
                    const std::vector<CheckRequest>& requests) const;
  // The same for the descriptors of one Envoy rate limit request (one domain), each matched once
  // against the domain's config; a descriptor another one `replaces` is answered unlimited
  // ("replaced") without a decision. No key lookups.
  DecisionPlan PlanDescriptors(RequestContext context, std::shared_ptr<const ActivePolicy> policy,
                               const std::vector<DescriptorRequest>& requests) const;
  // The entries of plan.key_lookups(), one each, in order (a failed one: its request gets the
  // fail mode). Then plan.rule_checks() is complete.
  void ResolveKeys(DecisionPlan& plan,
                   const std::vector<common::Result<std::optional<std::string>>>& entries);
  // The store's answers to plan.rule_checks(), one each, in order (a failed one: the fail mode).
  Decisions Complete(DecisionPlan plan, const std::vector<common::Result<StoreAnswer>>& answers);

  // The highest event sequence handed out: how many events this instance has decided.
  uint64_t events_decided() const { return sequence_.load(std::memory_order_relaxed); }

 private:
  // A plan under `policy` for `n` requests, each stamped with the time it is planned at.
  DecisionPlan NewPlan(RequestContext context, std::shared_ptr<const ActivePolicy> policy,
                       size_t n) const;
  // Answers a resolved request, or leaves its checks for the store. A cost above a rule's
  // capacity is a client error where `cost_errors` (/check), a decision otherwise (descriptors).
  void ResolveItem(Resolution resolution, bool cost_errors, DecisionPlan::Item& item) const;
  // Moves the pending items' checks into plan.rule_checks_, in request order.
  static void CollectRuleChecks(DecisionPlan& plan);
  CheckResult FailModeResult(const common::Status& why, const RequestContext& context);
  // Why `request` can never be admitted under `checks` (a cost above a rule's capacity), if so.
  static std::optional<std::string> CostError(int64_t cost, const std::vector<RuleCheck>& checks);
  static CheckResult FromAnswer(const std::vector<RuleCheck>& checks, const StoreAnswer& answer);
  DecisionEvent EventOf(const std::string& user_id, const CheckRequest& request,
                        const CheckResult& result, int64_t ts_ms, const RequestContext& context);

  const common::Clock& clock_;
  const ServiceOptions options_;
  BlockedCache* const blocked_cache_;  // may be null: every check goes to the store
  std::atomic<uint64_t> sequence_{0};
  std::array<common::Counter*, kVerdictCount> decisions_{};  // by Verdict; null if no decision
  common::Counter& store_unavailable_;
  common::Counter& store_timeout_;
  common::Counter& store_error_;
  common::LogThrottle store_log_;
  common::LogThrottle bad_key_log_;  // API-key entries in Redis that are not valid
};

}  // namespace rl::limiter
