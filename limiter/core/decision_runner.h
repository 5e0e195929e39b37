#pragma once
// What a front end decides checks with: the synchronous DecisionService (the answer before Submit
// returns) or an event loop's AsyncDecisionService (later, on the loop's thread). The front end's
// code is the same for both.

#include <functional>
#include <string>
#include <vector>

#include "limiter/core/check_request.h"
#include "limiter/core/decision_core.h"
#include "limiter/core/request_context.h"

namespace rl::limiter {

class DecisionRunner {
 public:
  using Done = std::function<void(Decisions)>;
  virtual ~DecisionRunner() = default;
  // A context for a request arriving now: `request_id` and the deadline the options give.
  virtual RequestContext NewContext(std::string request_id) const = 0;
  // Decides `requests` under the active policy (one snapshot for all), each all-or-nothing on its
  // own, and hands the decisions to `done`, once.
  virtual void Submit(RequestContext context, std::vector<CheckRequest> requests, Done done) = 0;
  // Decides the descriptors of one Envoy rate limit request under the active policy
  // (DecisionCore::PlanDescriptors), and hands the decisions to `done`, once.
  virtual void SubmitDescriptors(RequestContext context, std::vector<DescriptorRequest> requests,
                                 Done done) = 0;
};

}  // namespace rl::limiter
