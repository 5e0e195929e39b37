#pragma once
// Envoy's Rate Limit Service v3 over gRPC (envoy.service.ratelimit.v3.RateLimitService), the
// protocol Envoy, Istio, Emissary, Contour and Gloo speak, on grpc++'s callback API: a call is
// handed to a decider (an event loop's RlsService, or one that answers at once) and finished from
// wherever that decider answers it. No thread waits on a call.

#include <grpcpp/grpcpp.h>

#include <functional>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "limiter/core/decision_core.h"
#include "limiter/front/rls_service.h"

namespace rl::limiter {

// Runs `work` with an RlsService, on that service's thread (an event loop's, later), or at once.
using RlsDispatch = std::function<void(std::function<void(RlsService&)> work)>;

class RlsGrpcService final
    : public envoy::service::ratelimit::v3::RateLimitService::CallbackService {
 public:
  // Contexts (request id, deadline from arrival) come from `core`; decisions from `dispatch`.
  RlsGrpcService(const DecisionCore& core, RlsDispatch dispatch)
      : core_(core), dispatch_(std::move(dispatch)) {}

  grpc::ServerUnaryReactor* ShouldRateLimit(grpc::CallbackServerContext* context,
                                            const RateLimitRequest* request,
                                            RateLimitResponse* response) override;

 private:
  const DecisionCore& core_;
  const RlsDispatch dispatch_;
};

}  // namespace rl::limiter
