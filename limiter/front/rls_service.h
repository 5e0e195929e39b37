#pragma once
// Envoy's Rate Limit Service v3 over gRPC (envoy.service.ratelimit.v3.RateLimitService), the
// protocol Envoy, Istio, Emissary, Contour and Gloo speak: each request descriptor is one check of
// the decision core, decided by the domain's descriptor config (limiter/core/descriptor_config.h) with
// the same store, fail modes and events as POST /check.

#include <functional>
#include <string>
#include <vector>

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

struct RlsOptions {
  // DESCRIPTOR_USER_KEYS: the first entry of a descriptor with one of these keys names whom the
  // decision counts for in events and GET /analytics/<user>; without one, the descriptor itself
  // ("<domain>:<key>=<value>|...", or a digest of it when that is no valid user id) does.
  std::vector<std::string> user_keys = {"user_id", "remote_address"};
};

// Validates a request and maps it to one descriptor request per descriptor, in order. Errors say
// what is wrong (the gRPC answer is INVALID_ARGUMENT). Pure.
common::Result<std::vector<DescriptorRequest>> RlsChecks(const RateLimitRequest& request,
                                                         const RlsOptions& options);

// The answer for the checks' results, in order: a DescriptorStatus each, the overall code, and the
// RateLimit headers of the most restrictive one. Pure.
RateLimitResponse RlsResponse(const std::vector<CheckResult>& results);

// Envoy's rate limit requests decided through one runner: validated (RlsChecks), decided as
// descriptors, counted in the descriptor stats, answered (RlsResponse). The gRPC service
// (rls_grpc_service.h) and POST /json both answer through it. As thread-safe as the runner.
class RlsService {
 public:
  using Answer = std::function<void(common::Result<RateLimitResponse>)>;

  RlsService(DecisionRunner& runner, DescriptorStats& stats, RlsOptions options)
      : runner_(runner), stats_(stats), options_(std::move(options)) {}
  // Hands `done` the answer to `request` (when the runner has decided it), or why it is invalid
  // (INVALID_ARGUMENT over gRPC, 400 over HTTP), at once. The context's request id goes into each
  // descriptor's event.
  void Decide(RequestContext context, const RateLimitRequest& request, Answer done);

 private:
  DecisionRunner& runner_;
  DescriptorStats& stats_;
  const RlsOptions options_;
};

}  // namespace rl::limiter
