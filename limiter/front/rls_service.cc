#include "limiter/front/rls_service.h"

#include <algorithm>
#include <memory>
#include <iterator>
#include <limits>
#include <map>

#include "common/base/digest.h"
#include "common/base/identifiers.h"
#include "limiter/front/rate_limit_headers.h"

namespace rl::limiter {

using common::Result;
using common::Status;
using Code = RateLimitResponse::Code;
using Unit = RateLimitResponse::RateLimit::Unit;

// The core's units are Envoy's, numbered alike, so a unit passes between them as its number.
static_assert(static_cast<int>(RateLimitUnit::kUnknown) == RateLimitResponse::RateLimit::UNKNOWN);
static_assert(static_cast<int>(RateLimitUnit::kSecond) == RateLimitResponse::RateLimit::SECOND);
static_assert(static_cast<int>(RateLimitUnit::kMinute) == RateLimitResponse::RateLimit::MINUTE);
static_assert(static_cast<int>(RateLimitUnit::kHour) == RateLimitResponse::RateLimit::HOUR);
static_assert(static_cast<int>(RateLimitUnit::kDay) == RateLimitResponse::RateLimit::DAY);
static_assert(static_cast<int>(RateLimitUnit::kMonth) == RateLimitResponse::RateLimit::MONTH);
static_assert(static_cast<int>(RateLimitUnit::kYear) == RateLimitResponse::RateLimit::YEAR);
static_assert(static_cast<int>(RateLimitUnit::kWeek) == RateLimitResponse::RateLimit::WEEK);
static_assert(kRateLimitUnitCount == RateLimitResponse::RateLimit::Unit_ARRAYSIZE);

namespace {

// Whom a descriptor's decision counts for (see RlsOptions::user_keys).
std::string DescriptorUser(const std::string& domain, const DescriptorEntries& entries,
                           const RlsOptions& options) {
  for (const auto& [key, value] : entries) {
    if (std::find(options.user_keys.begin(), options.user_keys.end(), key) !=
            options.user_keys.end() &&
        common::IsValidUserId(value)) {
      return value;
    }
  }
  std::string joined = domain + ":";
  for (size_t i = 0; i < entries.size(); ++i) {
    joined += (i ? "|" : "") + entries[i].first + "=" + entries[i].second;
  }
  return common::IsValidUserId(joined) ? joined : "descriptor:" + common::Sha256Hex(joined, 16);
}

}  // namespace

Result<std::vector<DescriptorRequest>> RlsChecks(const RateLimitRequest& request,
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
  std::vector<DescriptorRequest> checks;
  checks.reserve(request.descriptors_size());
  for (int d = 0; d < request.descriptors_size(); ++d) {
    const auto& descriptor = request.descriptors(d);
    const std::string where = "descriptors[" + std::to_string(d) + "]";
    if (descriptor.entries_size() == 0) return Status::InvalidArgument(where + " has no entries");
    if (static_cast<size_t>(descriptor.entries_size()) > kMaxDescriptorEntries) {
      return Status::InvalidArgument(where + " has more than " +
                                     std::to_string(kMaxDescriptorEntries) + " entries");
    }
    DescriptorRequest check;
    check.domain = domain;
    check.check.action = common::IsValidAction(domain) ? domain : "rls";
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
      check.entries.emplace_back(entry.key(), entry.value());
    }
    if (descriptor.has_limit()) {  // the descriptor's own limit, instead of the config's
      const std::optional<RateLimitUnit> unit = RateLimitUnitOf(descriptor.limit().unit());
      if (!unit || descriptor.limit().requests_per_unit() == 0) {
        return Status::InvalidArgument(where +
                                       ".limit needs a unit (SECOND..WEEK) and requests_per_unit");
      }
      DescriptorLimit& own = check.own_limit.emplace();
      own.unit = *unit;
      own.requests_per_unit = descriptor.limit().requests_per_unit();
      own.name = "override";
    }
    // hits_addend as the reference reads it (GetHitsAddends): the descriptor's if set, 0 included
    // (check without counting), else the request's, where 0 means 1. Every value is a decision:
    // one above the limit is over it. Held below 2^53 so Redis's Lua numbers stay exact; any
    // count that large is over every limit, so the answer is the same.
    uint64_t hits = descriptor.has_hits_addend() ? descriptor.hits_addend().value()
                                                 : std::max<uint64_t>(1, request.hits_addend());
    check.check.cost = static_cast<int64_t>(std::min<uint64_t>(hits, kMaxRlsHits));
    check.check.user_id = DescriptorUser(domain, check.entries, options);
    checks.push_back(std::move(check));
  }
  return checks;
}

std::string QuotaGroupKey(const DescriptorEntries& entries) {
  std::string backend, model, all;
  for (const auto& [key, value] : entries) {
    if (key == "backend_name") backend = value;
    if (key == "model_name_override") model = value;
    all += key + "=" + value + ";";
  }
  return backend.empty() && model.empty() ? all : backend + "|" + model;
}

RateLimitResponse RlsResponse(const std::vector<CheckResult>& results,
                              const std::vector<RlsDescriptorFacts>& facts,
                              const RlsHeaderOptions& headers, int64_t now_ms) {
  RateLimitResponse response;
  // The reference's header descriptor: the least left, then the last one over its limit.
  const RateLimitResponse::DescriptorStatus* closest = nullptr;
  uint32_t least_left = std::numeric_limits<uint32_t>::max();
  const CheckResult* reported = nullptr;  // the extension's: the refused one, else the least left
  bool hard_limit_over = false;
  std::map<std::string, bool> quota_groups;  // group -> over (any of its descriptors)
  for (size_t i = 0; i < results.size(); ++i) {
    const CheckResult& result = results[i];
    auto* status = response.add_statuses();
    if (i < facts.size() && facts[i].unlimited) {
      status->set_code(RateLimitResponse::OK);
      status->set_limit_remaining(std::numeric_limits<uint32_t>::max());
      continue;
    }
    // A cost above the limit can never be admitted: over the limit, as the reference answers.
    const bool over = !result.allowed();
    const bool quota = i < facts.size() && !facts[i].quota_group.empty();
    status->set_code(over ? RateLimitResponse::OVER_LIMIT : RateLimitResponse::OK);
    if (quota) {
      quota_groups[facts[i].quota_group] |= over;
    } else if (over) {
      hard_limit_over = true;
    }
    if (!result.HasLimitState()) continue;
    auto* limit = status->mutable_current_limit();
    if (i < facts.size()) limit->set_name(facts[i].name);
    limit->set_requests_per_unit(static_cast<uint32_t>(std::max<int64_t>(0, result.limit)));
    limit->set_unit(static_cast<Unit>(result.unit));
    // Over the limit, nothing is left, as the reference answers (whatever the hits not charged
    // would have left).
    status->set_limit_remaining(
        over ? 0u : static_cast<uint32_t>(std::max<int64_t>(0, result.remaining)));
    const int64_t window_s = UnitWindowMs(result.unit) / 1000;
    const bool fixed_window = i >= facts.size() || facts[i].fixed_window;
    status->mutable_duration_until_reset()->set_seconds(
        fixed_window && window_s > 0 ? window_s - (now_ms / 1000) % window_s  // CalculateReset
                                     : (std::max<int64_t>(0, result.reset_ms) + 999) / 1000);
    if (status->limit_remaining() < least_left || (over && !quota)) {
      closest = status;
      least_left = over ? 0 : status->limit_remaining();
    }
    if (reported == nullptr || (over && reported->allowed()) ||
        (over == !reported->allowed() && result.remaining < reported->remaining)) {
      reported = &result;
    }
  }
  // Over only for a hard limit over, or when every quota group is (one model's quota used up
  // while another's is left: the request may still go there).
  const bool every_quota_over =
      !quota_groups.empty() &&
      std::all_of(quota_groups.begin(), quota_groups.end(), [](const auto& g) { return g.second; });
  response.set_overall_code(hard_limit_over || every_quota_over ? RateLimitResponse::OVER_LIMIT
                                                                : RateLimitResponse::OK);
  auto add_header = [&response](const std::string& name, const std::string& value) {
    auto* header = response.add_response_headers_to_add();
    header->set_key(name);
    header->set_value(value);
  };
  if (headers.reference && closest != nullptr) {
    add_header(headers.limit_header, std::to_string(closest->current_limit().requests_per_unit()));
    add_header(headers.remaining_header, std::to_string(closest->limit_remaining()));
    add_header(headers.reset_header, std::to_string(closest->duration_until_reset().seconds()));
  }
  if (headers.extended && reported != nullptr) {
    for (const auto& [name, value] : RateLimitHeaders(*reported)) add_header(name, value);
  }
  return response;
}

void RlsService::Decide(RequestContext context, const RateLimitRequest& request, Answer done) {
  auto checks = RlsChecks(request, options_);
  if (!checks.ok()) return done(checks.status());
  // What the descriptor stats need once decided; the runner takes the checks themselves.
  auto decided_checks = std::make_shared<std::vector<DescriptorRequest>>(checks.value());
  // Matched and decided under one policy, whatever a reload swaps in meanwhile.
  runner_.SubmitDescriptors(
      std::move(context), std::move(checks.value()),
      [this, decided_checks, done = std::move(done)](Decisions decided) {
        std::vector<RlsDescriptorFacts> facts(decided_checks->size());
        for (size_t i = 0; i < decided_checks->size(); ++i) {
          const DescriptorRequest& check = (*decided_checks)[i];
          const DescriptorNode* node = decided.descriptor_matches[i].node;  // the config's limit
          if (check.own_limit || node == nullptr || !node->limit) continue;
          facts[i].name = node->limit->name;
          facts[i].unlimited = node->limit->unlimited;
          facts[i].fixed_window = node->limit->algorithm == Algorithm::kFixedWindow;
          if (node->limit->quota_mode) facts[i].quota_group = QuotaGroupKey(check.entries);
          if (!decided.descriptor_matches[i].replaced && !node->limit->unlimited) {
            stats_.Record(check.domain,
                          DescriptorStatKey(*node, check.entries,
                                            decided.descriptor_matches[i].path),
                          decided.results[i], check.check.cost);
          }
        }
        RateLimitResponse response =
            RlsResponse(decided.results, facts, options_.headers, clock_.NowMs());
        if (options_.global_shadow_mode &&
            response.overall_code() == RateLimitResponse::OVER_LIMIT) {
          response.set_overall_code(RateLimitResponse::OK);
          stats_.RecordGlobalShadowMode();
        }
        done(std::move(response));
      });
}

}  // namespace rl::limiter
