#include "common/base/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace rl::common {

using nlohmann::json;

Result<json> ParseStrictJson(std::string_view body) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") {
    return Status::InvalidArgument("body must not start with a byte order mark");
  }
  // Duplicate keys are ambiguous (which user_id counts?): refuse them at any depth.
  std::vector<std::set<std::string>> keys_by_depth;
  bool duplicate = false;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys_by_depth.resize(static_cast<size_t>(depth) + 1);
      keys_by_depth[depth].clear();
    } else if (event == json::parse_event_t::key) {
      const size_t d = static_cast<size_t>(depth) - 1;  // a key sits one level inside its object
      if (d < keys_by_depth.size() && !keys_by_depth[d].insert(parsed.get<std::string>()).second) {
        duplicate = true;
      }
    }
    return true;
  };
  json doc = json::parse(body, on_event, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (duplicate) return Status::InvalidArgument("body has a duplicate key");
  return doc;
}

}  // namespace rl::common
