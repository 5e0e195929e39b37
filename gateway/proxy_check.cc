#include "gateway/proxy_check.h"

#include <nlohmann/json.hpp>

#include "common/base/identifiers.h"
#include "common/base/settings.h"

namespace rl::gateway {

using common::Result;
using common::Status;

namespace {

bool IsMethod(std::string_view method) {
  if (method.empty() || method.size() > 16) return false;
  for (char c : method) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

Result<std::vector<ProxyRoute>> ParseProxyRoutes(std::string_view text) {
  std::vector<ProxyRoute> routes;
  for (std::string_view entry : common::SplitList(text)) {
    entry = common::Trim(entry);
    if (entry.empty()) continue;
    const std::string quoted = "\"" + std::string(entry) + "\"";
    const size_t eq = entry.rfind('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(quoted + " is not [METHOD ]/path=action");
    }
    ProxyRoute route;
    route.action = std::string(common::Trim(entry.substr(eq + 1)));
    std::string_view left = common::Trim(entry.substr(0, eq));
    if (const size_t space = left.find(' '); space != std::string_view::npos) {
      route.method = std::string(left.substr(0, space));
      left = common::Trim(left.substr(space + 1));
      if (!IsMethod(route.method)) {
        return Status::InvalidArgument(quoted + ": the method must be upper case, e.g. POST");
      }
    }
    if (left.empty() || left.front() != '/') {
      return Status::InvalidArgument(quoted + ": the path must start with /");
    }
    if (left.back() == '*') {
      route.prefix = true;
      left.remove_suffix(1);
    }
    if (left.find('*') != std::string_view::npos) {
      return Status::InvalidArgument(quoted + ": '*' may only end a path");
    }
    route.path = std::string(left);
    if (!common::IsValidAction(route.action)) {
      return Status::InvalidArgument(quoted + ": the action must be [A-Za-z0-9_.:-]{1,64}");
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

std::string ProxyAction(const ProxyCheckOptions& options, std::string_view method,
                        std::string_view path) {
  for (const ProxyRoute& route : options.routes) {
    if (!route.method.empty() && route.method != method) continue;
    const bool fits = route.prefix ? path.substr(0, route.path.size()) == route.path
                                   : path == route.path;
    if (fits) return route.action;
  }
  return options.default_action;
}

Result<OriginalRequest> OriginalRequestOf(const common::HttpRequestView& request) {
  OriginalRequest original;
  std::string uri;
  if (request.HasHeader("X-Original-URI")) {
    uri = std::string(request.Header("X-Original-URI"));
    original.method = std::string(request.Header("X-Original-Method"));
  } else if (request.HasHeader("X-Forwarded-Uri")) {
    uri = std::string(request.Header("X-Forwarded-Uri"));
    original.method = std::string(request.Header("X-Forwarded-Method"));
  } else {
    return Status::InvalidArgument(
        "the original request is missing: the proxy must send X-Original-URI (nginx) or "
        "X-Forwarded-Uri (Caddy's forward_auth)");
  }
  if (uri.empty() || uri.front() != '/' || uri.size() > 8192) {
    return Status::InvalidArgument("the original URI must be a path of at most 8 KiB");
  }
  original.path = uri.substr(0, uri.find('?'));
  if (original.method.empty()) original.method = "GET";
  if (!IsMethod(original.method)) {
    return Status::InvalidArgument("the original method must be an upper case HTTP method");
  }
  return original;
}

Result<std::string> ProxyCheckBody(const common::HttpRequestView& request,
                                   const ProxyCheckOptions& options,
                                   const common::TrustedProxies& trusted) {
  auto original = OriginalRequestOf(request);
  if (!original.ok()) return original.status();
  nlohmann::json check = {{"action", ProxyAction(options, original.value().method,
                                                 original.value().path)},
                          {"cost", 1}};
  if (request.HasHeader(options.user_header)) {
    const std::string user(request.Header(options.user_header));
    if (!common::IsValidUserId(user)) {
      return Status::InvalidArgument(options.user_header + " must be " + common::kValidUserIdRule);
    }
    check["user_id"] = user;
  } else if (request.HasHeader(options.api_key_header)) {
    // The key alone: the limiter resolves it to its user. A key is a secret, never a user id.
    const std::string key(request.Header(options.api_key_header));
    if (!common::IsValidApiKey(key)) {
      return Status::InvalidArgument(options.api_key_header + " must be 1.." +
                                     std::to_string(common::kMaxApiKeyBytes) +
                                     " printable ASCII characters");
    }
    check["api_key"] = key;
  } else {
    check["user_id"] = "ip:" + common::ClientAddress(request.remote_address,
                                                     request.HeaderValues("X-Forwarded-For"),
                                                     trusted);
  }
  return check.dump();
}

}  // namespace rl::gateway
