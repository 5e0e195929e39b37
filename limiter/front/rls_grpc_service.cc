#include "limiter/front/rls_grpc_service.h"

#include "common/base/request_id.h"

namespace rl::limiter {

grpc::ServerUnaryReactor* RlsGrpcService::ShouldRateLimit(grpc::CallbackServerContext* context,
                                                          const RateLimitRequest* request,
                                                          RateLimitResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // x-request-id, as Envoy and HTTP clients name it, when the caller sends one in the metadata.
  std::string offered;
  auto it = context->client_metadata().find("x-request-id");
  if (it != context->client_metadata().end()) offered.assign(it->second.data(), it->second.size());
  RequestContext arrived = core_.NewContext(common::RequestIdOr(offered));
  context->AddInitialMetadata("x-request-id", arrived.request_id);
  // `request` and `response` live until the reactor is finished.
  dispatch_([arrived = std::move(arrived), reactor, request, response](RlsService& rls) mutable {
    const common::RequestIdScope in_request(arrived.request_id);
    rls.Decide(std::move(arrived), *request,
               [reactor, response](common::Result<RateLimitResponse> answer) {
                 if (!answer.ok()) {
                   reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                answer.status().message()));
                   return;
                 }
                 *response = std::move(answer.value());
                 reactor->Finish(grpc::Status::OK);
               });
  });
  return reactor;
}

}  // namespace rl::limiter
