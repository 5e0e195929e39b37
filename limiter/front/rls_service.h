#pragma once
// Envoy's Rate Limit Service v3 over gRPC (envoy.service.ratelimit.v3.RateLimitService), the
// protocol Envoy, Istio, Emissary, Contour and Gloo speak: each request descriptor is one check of
// the decision core, decided by the domain's descriptor config (limiter/core/descriptor_config.h) with
// the same store, fail modes and events as POST /check.

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "common/base/status.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "limiter/core/decision_service.h"
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

class RlsService final : public envoy::service::ratelimit::v3::RateLimitService::Service {
 public:
  RlsService(DecisionService& service, DescriptorStats& stats, RlsOptions options)
      : service_(service), stats_(stats), options_(std::move(options)) {}
  grpc::Status ShouldRateLimit(grpc::ServerContext* context, const RateLimitRequest* request,
                               RateLimitResponse* response) override;
  // The answer to one request, or why it is invalid (INVALID_ARGUMENT over gRPC, 400 over HTTP).
  // The context's request id goes into each descriptor's event.
  common::Result<RateLimitResponse> Decide(const RequestContext& context,
                                           const RateLimitRequest& request);

 private:
  DecisionService& service_;
  DescriptorStats& stats_;
  const RlsOptions options_;
};

}  // namespace rl::limiter
