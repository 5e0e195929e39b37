#pragma once
// GET /proxy/check: the question of a proxy's subrequest (nginx auth_request, Caddy
// forward_auth) turned into a POST /check body, with no code in the service behind the proxy.
// Who: a configured user header, else an API key header, else the client's address (trusted
// proxies only). What: the action of the first PROXY_ROUTES entry that fits the original method
// and path, else PROXY_DEFAULT_ACTION. Cost 1.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/http/client_address.h"
#include "common/http/http_exchange.h"

namespace rl::gateway {

// One PROXY_ROUTES entry: "[METHOD ]/path=action", a path ending in '*' being a prefix.
struct ProxyRoute {
  std::string method;  // empty: any method
  std::string path;    // exact, or a prefix when `prefix`
  bool prefix = false;
  std::string action;
};

struct ProxyCheckOptions {
  std::vector<ProxyRoute> routes;           // PROXY_ROUTES, first match wins
  std::string default_action = "http";      // PROXY_DEFAULT_ACTION
  std::string user_header = "X-User-Id";    // PROXY_USER_HEADER: names the user, if present
  std::string api_key_header = "X-API-Key";  // PROXY_API_KEY_HEADER: else the key, if present
};

// Parses PROXY_ROUTES: entries separated by ',', e.g. "POST /login=login, /api/*=api". Errors
// name the entry. Pure.
common::Result<std::vector<ProxyRoute>> ParseProxyRoutes(std::string_view text);

// The action for a request of `method` to `path` (no query). Pure.
std::string ProxyAction(const ProxyCheckOptions& options, std::string_view method,
                        std::string_view path);

// The original request as the proxy passes it: X-Original-Method / X-Original-URI (the shipped
// nginx config), else X-Forwarded-Method / X-Forwarded-Uri (Caddy's forward_auth).
struct OriginalRequest {
  std::string method;
  std::string path;  // the URI without its query
};
common::Result<OriginalRequest> OriginalRequestOf(const common::HttpRequestView& request);

// The POST /check body for a proxy's subrequest, or why it cannot be asked (400). Pure.
common::Result<std::string> ProxyCheckBody(const common::HttpRequestView& request,
                                           const ProxyCheckOptions& options,
                                           const common::TrustedProxies& trusted);

}  // namespace rl::gateway
