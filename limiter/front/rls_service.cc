#include "limiter/front/rls_service.h"

#include <algorithm>
#include <iterator>

#include "common/base/digest.h"
#include "common/base/identifiers.h"
#include "common/base/request_id.h"
#include "limiter/front/rate_limit_headers.h"

namespace rl::limiter {

using common::Result;
using common::Status;
using Code = RateLimitResponse::Code;
using Unit = RateLimitResponse::RateLimit::Unit;

namespace {

// The reference service's unit of a rule's window in seconds (kRateLimitUnits), or UNKNOWN.
Unit UnitOf(int64_t window_s) {
  for (size_t u = 1; u < std::size(kRateLimitUnits); ++u) {
    if (kRateLimitUnits[u].window_ms == window_s * 1000) return static_cast<Unit>(u);
  }
  return RateLimitResponse::RateLimit::UNKNOWN;
}

// Whom a descriptor's decision counts for (see RlsOptions::user_keys).
std::string DescriptorUser(const std::string& domain, const CheckRequest& check,
                           const RlsOptions& options) {
  for (const auto& [key, value] : check.descriptor) {
    if (std::find(options.user_keys.begin(), options.user_keys.end(), key) !=
            options.user_keys.end() &&
        common::IsValidUserId(value)) {
      return value;
    }
  }
  std::string joined = domain + ":";
  for (size_t i = 0; i < check.descriptor.size(); ++i) {
    joined += (i ? "|" : "") + check.descriptor[i].first + "=" + check.descriptor[i].second;
  }
  return common::IsValidUserId(joined) ? joined : "descriptor:" + common::Sha256Hex(joined, 16);
}

}  // namespace

Result<std::vector<CheckRequest>> RlsChecks(const RateLimitRequest& request,
                                            const RlsOptions& options) {
  const std::string& domain = request.domain();
  if (domain.empty()) return Status::InvalidArgument("domain is required");
  if (domain.size() > kMaxDomainBytes || !common::IsValidUserId(domain)) {
    return Status::InvalidArgument("domain must be 1.." + std::to_string(kMaxDomainBytes) +
                                   " bytes of UTF-8 without control characters");
  }
  if (request.descriptors_size() == 0) {
    return Status::InvalidArgument("at least one descriptor is required");
  }
  if (static_cast<size_t>(request.descriptors_size()) > kMaxDescriptors) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxDescriptors) +
                                   " descriptors per request");
  }
  std::vector<CheckRequest> checks;
  checks.reserve(request.descriptors_size());
  for (int d = 0; d < request.descriptors_size(); ++d) {
    const auto& descriptor = request.descriptors(d);
    const std::string where = "descriptors[" + std::to_string(d) + "]";
    if (descriptor.entries_size() == 0) return Status::InvalidArgument(where + " has no entries");
    if (static_cast<size_t>(descriptor.entries_size()) > kMaxDescriptorEntries) {
      return Status::InvalidArgument(where + " has more than " +
                                     std::to_string(kMaxDescriptorEntries) + " entries");
    }
    CheckRequest check;
    check.domain = domain;
    check.action = common::IsValidAction(domain) ? domain : "rls";
    for (int e = 0; e < descriptor.entries_size(); ++e) {
      const auto& entry = descriptor.entries(e);
      const std::string at = where + ".entries[" + std::to_string(e) + "]";
      if (entry.key().empty()) return Status::InvalidArgument(at + ".key is required");
      if (entry.key().size() > kMaxDescriptorKeyBytes ||
          entry.value().size() > kMaxDescriptorValueBytes) {
        return Status::InvalidArgument(
            at + " is too long (key " + std::to_string(kMaxDescriptorKeyBytes) + ", value " +
            std::to_string(kMaxDescriptorValueBytes) + " bytes at most)");
      }
      check.descriptor.emplace_back(entry.key(), entry.value());
    }
    if (descriptor.has_limit()) {  // the descriptor's own limit, instead of the config's
      const int unit = descriptor.limit().unit();
      if (unit <= 0 || unit >= static_cast<int>(std::size(kRateLimitUnits)) ||
          descriptor.limit().requests_per_unit() == 0) {
        return Status::InvalidArgument(where +
                                       ".limit needs a unit (SECOND..WEEK) and requests_per_unit");
      }
      check.override_unit = std::string(kRateLimitUnits[unit].name);
      check.override_requests_per_unit = descriptor.limit().requests_per_unit();
    }
    // hits_addend as the reference reads it (GetHitsAddends): the descriptor's if set, 0 included
    // (check without counting), else the request's, where 0 means 1. Every value is a decision:
    // one above the limit is over it. Held below 2^53 so Redis's Lua numbers stay exact; any
    // count that large is over every limit, so the answer is the same.
    uint64_t hits = descriptor.has_hits_addend() ? descriptor.hits_addend().value()
                                                 : std::max<uint64_t>(1, request.hits_addend());
    check.cost = static_cast<int64_t>(std::min<uint64_t>(hits, kMaxRlsHits));
    check.user_id = DescriptorUser(domain, check, options);
    checks.push_back(std::move(check));
  }
  return checks;
}

std::vector<RlsMatch> MatchChecks(const Policy& policy, const std::vector<CheckRequest>& checks) {
  std::vector<RlsMatch> out(checks.size());
  if (checks.empty()) return out;
  auto domain = policy.domains.find(checks.front().domain);
  if (domain == policy.domains.end()) return out;
  std::vector<const DescriptorNode*> matches;
  matches.reserve(checks.size());
  for (const CheckRequest& check : checks) {
    matches.push_back(MatchDescriptor(domain->second, check.descriptor));
  }
  std::vector<const DescriptorNode*> kept = matches;
  ApplyReplaces(kept);
  for (size_t i = 0; i < checks.size(); ++i) {
    out[i].replaced = matches[i] != nullptr && kept[i] == nullptr;
    if (checks[i].override_unit.empty()) out[i].node = matches[i];
  }
  return out;
}

RateLimitResponse RlsResponse(const std::vector<CheckResult>& results) {
  RateLimitResponse response;
  response.set_overall_code(RateLimitResponse::OK);
  const CheckResult* reported = nullptr;  // the refused one, else the one with the least left
  for (const CheckResult& result : results) {
    auto* status = response.add_statuses();
    // A cost above the limit can never be admitted: over the limit, as the reference answers.
    const bool over = !result.allowed();
    status->set_code(over ? RateLimitResponse::OVER_LIMIT : RateLimitResponse::OK);
    if (over) response.set_overall_code(RateLimitResponse::OVER_LIMIT);
    if (!result.HasLimitState()) continue;
    auto* limit = status->mutable_current_limit();
    limit->set_name(result.rule);
    limit->set_requests_per_unit(static_cast<uint32_t>(std::max<int64_t>(0, result.limit)));
    limit->set_unit(UnitOf(result.window_s));
    // Over the limit, nothing is left, as the reference answers (whatever the hits not charged
    // would have left).
    status->set_limit_remaining(
        over ? 0u : static_cast<uint32_t>(std::max<int64_t>(0, result.remaining)));
    status->mutable_duration_until_reset()->set_seconds(result.reset_ms / 1000);
    status->mutable_duration_until_reset()->set_nanos(
        static_cast<int32_t>(result.reset_ms % 1000 * 1'000'000));
    if (reported == nullptr || (over && reported->allowed()) ||
        (over == !reported->allowed() && result.remaining < reported->remaining)) {
      reported = &result;
    }
  }
  if (reported != nullptr) {
    for (const auto& [name, value] : RateLimitHeaders(*reported)) {
      auto* header = response.add_response_headers_to_add();
      header->set_key(name);
      header->set_value(value);
    }
  }
  return response;
}

grpc::Status RlsService::ShouldRateLimit(grpc::ServerContext* context,
                                         const RateLimitRequest* request,
                                         RateLimitResponse* response) {
  // x-request-id, as Envoy and HTTP clients name it, when the caller sends one in the metadata.
  std::string offered;
  if (context != nullptr) {
    auto it = context->client_metadata().find("x-request-id");
    if (it != context->client_metadata().end())
      offered.assign(it->second.data(), it->second.size());
  }
  const std::string request_id = common::RequestIdOr(offered);
  const common::RequestIdScope in_request(request_id);
  if (context != nullptr) context->AddInitialMetadata("x-request-id", request_id);
  auto answer = Decide(*request, request_id);
  if (!answer.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, answer.status().message());
  }
  *response = std::move(answer.value());
  return grpc::Status::OK;
}

Result<RateLimitResponse> RlsService::Decide(const RateLimitRequest& request,
                                             const std::string& request_id) {
  auto checks = RlsChecks(request, options_);
  if (!checks.ok()) return checks.status();
  for (CheckRequest& check : checks.value()) check.request_id = request_id;
  // `replaces`: a descriptor whose limit another descriptor's limit replaces is not limited.
  // Held here: the matches point into this policy, which a reload may replace meanwhile.
  const auto active = service_.policy();
  const std::vector<RlsMatch> matches = MatchChecks(active->policy, checks.value());
  std::vector<CheckRequest> decided;
  for (size_t i = 0; i < checks->size(); ++i) {
    if (!matches[i].replaced) decided.push_back(checks.value()[i]);
  }
  // Decided under the policy matched against, whatever a reload swaps in meanwhile.
  std::vector<CheckResult> results = service_.Decide(active, decided).results;
  std::vector<CheckResult> all;
  all.reserve(checks->size());
  for (size_t i = 0, j = 0; i < checks->size(); ++i) {
    if (matches[i].replaced) {
      CheckResult unlimited;
      unlimited.unlimited = true;
      unlimited.rule = "replaced";
      all.push_back(std::move(unlimited));
      continue;
    }
    const CheckRequest& check = checks.value()[i];
    const DescriptorNode* node = matches[i].node;
    if (node != nullptr && node->limit && !node->limit->unlimited) {
      stats_.Record(check.domain, DescriptorStatKey(*node, check.descriptor), results[j],
                    check.cost);
    }
    all.push_back(std::move(results[j++]));
  }
  return RlsResponse(all);
}

}  // namespace rl::limiter
