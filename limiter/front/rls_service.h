#pragma once
// Envoy's Rate Limit Service v3 over gRPC (envoy.service.ratelimit.v3.RateLimitService), the
// protocol Envoy, Istio, Emissary, Contour and Gloo speak: each request descriptor is one check of
// the decision core, decided by the domain's descriptor config (limiter/core/descriptor_config.h) with
// the same store, fail modes and events as POST /check.

#include <functional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/status.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "limiter/core/decision_runner.h"
#include "limiter/front/descriptor_stats.h"
#include "limiter/core/policy.h"

namespace rl::limiter {

using RateLimitRequest = envoy::service::ratelimit::v3::RateLimitRequest;
using RateLimitResponse = envoy::service::ratelimit::v3::RateLimitResponse;

inline constexpr size_t kMaxDomainBytes = 256;
inline constexpr size_t kMaxDescriptors = 64;
// hits_addend above this counts as this many hits (over every limit either way).
inline constexpr int64_t kMaxRlsHits = int64_t{1} << 52;
inline constexpr size_t kMaxDescriptorEntries = 16;
inline constexpr size_t kMaxDescriptorKeyBytes = 256;
inline constexpr size_t kMaxDescriptorValueBytes = 1024;
inline constexpr int kMaxRlsMessageBytes = 64 * 1024;  // a larger request is refused by gRPC

// The headers an answer asks the proxy to add to its client's response
// (response_headers_to_add). Off unless set, as the reference answers.
struct RlsHeaderOptions {
  // LIMIT_RESPONSE_HEADERS_ENABLED, as the reference: three headers for the descriptor closest to
  // its limit (the last one over it, if any): its requests_per_unit, what is left, and the
  // seconds until its window resets.
  bool reference = false;
  std::string limit_header = "RateLimit-Limit";          // LIMIT_LIMIT_HEADER
  std::string remaining_header = "RateLimit-Remaining";  // LIMIT_REMAINING_HEADER
  std::string reset_header = "RateLimit-Reset";          // LIMIT_RESET_HEADER
  // RLS_EXTENDED_HEADERS, an extension: the headers POST /check answers with
  // (rate_limit_headers.h: RateLimit-Policy, RateLimit, X-RateLimit-*, Retry-After) for the
  // descriptor refused, else the one with the least left; after the reference's, if both.
  bool extended = false;
};

// What one descriptor's answer takes from the config beside its decision.
struct RlsDescriptorFacts {
  std::string name;        // its limit's `name` in the config: "" without one (and for a
                           // limit the request brings), as the reference answers
  bool unlimited = false;  // `unlimited: true`: OK with 4294967295 left, no current_limit
  // The reference's algorithm (fixed windows of the unit, the default): duration_until_reset is
  // the unit's window less the whole seconds into it, as the reference computes it from its
  // clock. Another `algorithm` (an extension) answers its own time until full.
  bool fixed_window = true;
  // quota_mode: its group (QuotaGroupKey of its entries); empty for a hard limit.
  std::string quota_group;
};

// The reference's quota group of a quota-mode descriptor: its backend_name and
// model_name_override entries if it has either (the descriptors of one model decide together),
// else all its entries. Pure.
std::string QuotaGroupKey(const DescriptorEntries& entries);

struct RlsOptions {
  RlsHeaderOptions headers;
  // SHADOW_MODE, as the reference's global shadow mode: an answer over the limit says OK overall
  // (its statuses still say which descriptor was over), counted in
  // rl_descriptor_global_shadow_mode_total.
  bool global_shadow_mode = false;
  // DESCRIPTOR_USER_KEYS: the first entry of a descriptor with one of these keys names whom the
  // decision counts for in events and GET /analytics/<user>; without one, the descriptor itself
  // ("<domain>:<key>=<value>|...", or a digest of it when that is no valid user id) does.
  std::vector<std::string> user_keys = {"user_id", "remote_address"};
};

// Validates a request and maps it to one descriptor request per descriptor, in order. Errors say
// what is wrong (the gRPC answer is INVALID_ARGUMENT). Pure.
common::Result<std::vector<DescriptorRequest>> RlsChecks(const RateLimitRequest& request,
                                                         const RlsOptions& options);

// The answer for the checks' results, in order, as the reference answers (every field): a
// DescriptorStatus each (`facts` in the same order), the overall code, and the headers `headers`
// asks for. duration_until_reset is whole seconds, as the reference's, at `now_ms` (the time of
// the answer, Unix milliseconds). Pure.
RateLimitResponse RlsResponse(const std::vector<CheckResult>& results,
                              const std::vector<RlsDescriptorFacts>& facts,
                              const RlsHeaderOptions& headers, int64_t now_ms);

// Envoy's rate limit requests decided through one runner: validated (RlsChecks), decided as
// descriptors, counted in the descriptor stats, answered (RlsResponse). The gRPC service
// (rls_grpc_service.h) and POST /json both answer through it. As thread-safe as the runner.
class RlsService {
 public:
  using Answer = std::function<void(common::Result<RateLimitResponse>)>;

  RlsService(DecisionRunner& runner, DescriptorStats& stats, const common::Clock& clock,
             RlsOptions options)
      : runner_(runner), stats_(stats), clock_(clock), options_(std::move(options)) {}
  // Hands `done` the answer to `request` (when the runner has decided it), or why it is invalid
  // (INVALID_ARGUMENT over gRPC, 400 over HTTP), at once. The context's request id goes into each
  // descriptor's event.
  void Decide(RequestContext context, const RateLimitRequest& request, Answer done);

 private:
  DecisionRunner& runner_;
  DescriptorStats& stats_;
  const common::Clock& clock_;  // the answers' seconds until reset, as the reference's clock
  const RlsOptions options_;
};

}  // namespace rl::limiter
