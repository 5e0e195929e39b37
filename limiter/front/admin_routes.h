#pragma once
// The operator's routes of the limiter, GET and DELETE /limits/<user>?action=&api_key=, as
// handlers of no server's types (common/http/http_exchange.h): the keys of every rule the request
// would be checked against, to inspect or to reset.

#include <string>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/http/http_exchange.h"
#include "limiter/core/decision_service.h"
#include "limiter/core/decision_store.h"

namespace rl::limiter {

// Both need ADMIN_TOKEN as a Bearer token (403 while it is unset, 401 without it); the user and
// the API key are resolved as POST /check resolves them (ResolveRequest), under one policy.
// Thread-safe.
class AdminRoutes {
 public:
  AdminRoutes(DecisionService& service, AdminStore& admin, ApiKeyStore& api_keys,
              const common::Clock& clock, std::string admin_token);

  // GET /limits/<user>: each rule's state, ban and strike keys, with type, fields and TTL.
  void Inspect(const common::HttpRequestView& request, common::HttpAnswer& answer);
  // DELETE /limits/<user>: deletes those keys (and, through the store, tells the blocked caches).
  void Reset(const common::HttpRequestView& request, common::HttpAnswer& answer);

 private:
  void Answer(const common::HttpRequestView& request, bool reset, common::HttpAnswer& answer);
  // Whether the request carries the token; answers it if not.
  bool Authorized(const common::HttpRequestView& request, common::HttpAnswer& answer) const;

  DecisionService& service_;
  AdminStore& admin_;
  ApiKeyStore& api_keys_;
  const std::string admin_token_;
  common::LogThrottle key_log_;  // bad API-key entries
};

}  // namespace rl::limiter
