#pragma once

#include <optional>
#include <string>

#include "common/base/logging.h"
#include "common/base/status.h"
#include "limiter/core/decision_store.h"
#include "limiter/core/policy.h"

namespace rl::limiter {

// The one answer to "whom does this API key name?", used by POST /check and the admin endpoints
// alike: the limits file's `api_keys` first, then the Redis hash `api_keys_redis_hash` (field =
// key, value = "<tier>:<user>"). nullopt: an unknown key. A key on the allow or deny list that the
// file does not know needs no lookup (the lists decide; see Resolve) and is nullopt too.
//
// In two steps, so that the decision core plans the store's part without doing it:
// NeedsApiKeyLookup says whether the hash must be asked; ApiKeyFromPolicy answers the keys that
// need not, ApiKeyFromEntry the ones that did. A hash entry that is not "<tier>:<user>" with a
// known tier and a valid user id (the rules of a request's user_id) is an unknown key, logged at
// warn (through `throttle`) with the hash and the key's label, never the key.

// True when only the Redis hash can tell whom `api_key` names. Pure.
bool NeedsApiKeyLookup(const Policy& policy, const std::string& api_key);

// The key as the policy alone knows it, for a key that needs no lookup. Pure.
std::optional<ApiKey> ApiKeyFromPolicy(const Policy& policy, const std::string& api_key);

// The key as the hash's entry for it says (nullopt: no entry, or not a valid one).
std::optional<ApiKey> ApiKeyFromEntry(const Policy& policy, const std::string& api_key,
                                      const std::optional<std::string>& entry,
                                      common::LogThrottle& throttle);

// Whom and what `request` is checked as under `policy` (Resolve), its API key, if any, found as
// POST /check finds it, the hash asked at once: the one resolver for callers outside a decision
// (the admin endpoints). A failed lookup is the store's Status.
common::Result<Resolution> ResolveRequest(const Policy& policy, ApiKeyStore& store,
                                          const CheckRequest& request,
                                          common::LogThrottle& throttle);

// Parses a hash entry "<tier>:<user>" against `policy`; nullopt if it is not a valid one. Pure.
std::optional<ApiKey> ParseApiKeyEntry(const Policy& policy, const std::string& entry);

}  // namespace rl::limiter
