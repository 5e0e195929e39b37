#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/base/status.h"

namespace rl::common {

// Parses a request body as JSON, refusing what nlohmann would quietly accept but a client cannot
// have meant: a leading byte order mark, and a key repeated in one object (which value counts?).
// Never throws; the error message says what is wrong.
Result<nlohmann::json> ParseStrictJson(std::string_view body);

}  // namespace rl::common
