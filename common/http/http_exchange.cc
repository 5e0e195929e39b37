#include "common/http/http_exchange.h"

#include <openssl/crypto.h>
#include <strings.h>

#include <algorithm>
#include <cctype>

#include "common/base/request_id.h"

namespace rl::common {

void HttpAnswer::SetHeader(std::string name, std::string value) {
  for (auto& [n, v] : headers) {
    if (strcasecmp(n.c_str(), name.c_str()) == 0) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

std::string HttpAnswer::HeaderValue(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), name.size()) == 0) return v;
  }
  return "";
}

std::string JsonText(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void HttpAnswer::Json(int s, const nlohmann::json& json) {
  status = s;
  body = JsonText(json);
  content_type = "application/json";
}

void HttpAnswer::Error(int s, std::string_view code, std::string_view message) {
  Json(s, {{"error", {{"code", code}, {"message", message}}}});
}

bool IsJsonContentType(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return type == "application/json";
}

bool HasBearerToken(std::string_view authorization, const std::string& token) {
  const std::string expected = "Bearer " + token;
  return !token.empty() && authorization.size() == expected.size() &&
         CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) == 0;
}

bool RequireBearerToken(std::string_view authorization, const std::string& token,
                        HttpAnswer& answer) {
  if (token.empty() || HasBearerToken(authorization, token)) return true;
  answer.SetHeader("WWW-Authenticate", "Bearer");
  answer.Error(401, "unauthenticated", "Authorization: Bearer <token> required");
  return false;
}

namespace {
bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

std::optional<std::string_view> HttpRequestView::Param(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string_view HttpRequestView::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (SameName(n, name)) return v;
  }
  return {};
}

bool HttpRequestView::HasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return SameName(header.first, name); });
}

std::vector<std::string> HttpRequestView::HeaderValues(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [n, v] : headers) {
    if (SameName(n, name)) values.emplace_back(v);
  }
  return values;
}

RouteTable& RouteTable::Add(std::string method, std::string pattern, AsyncHttpHandler handler) {
  std::regex compiled(pattern);
  routes_.push_back(
      {std::move(method), std::move(pattern), std::move(compiled), std::move(handler)});
  return *this;
}

namespace {
AsyncHttpHandler AnsweringAtOnce(HttpHandler handler) {
  return [handler = std::move(handler)](const HttpRequestView& request, HttpResponder respond) {
    HttpAnswer answer;
    handler(request, answer);
    respond(std::move(answer));
  };
}
}  // namespace

RouteTable& RouteTable::Get(std::string pattern, HttpHandler handler) {
  return Add("GET", std::move(pattern), AnsweringAtOnce(std::move(handler)));
}
RouteTable& RouteTable::Post(std::string pattern, HttpHandler handler) {
  return Add("POST", std::move(pattern), AnsweringAtOnce(std::move(handler)));
}
RouteTable& RouteTable::Delete(std::string pattern, HttpHandler handler) {
  return Add("DELETE", std::move(pattern), AnsweringAtOnce(std::move(handler)));
}
RouteTable& RouteTable::PostAsync(std::string pattern, AsyncHttpHandler handler) {
  return Add("POST", std::move(pattern), std::move(handler));
}
RouteTable& RouteTable::GetAsync(std::string pattern, AsyncHttpHandler handler) {
  return Add("GET", std::move(pattern), std::move(handler));
}
RouteTable& RouteTable::Add(const RouteTable& other) {
  routes_.insert(routes_.end(), other.routes_.begin(), other.routes_.end());
  return *this;
}

void RouteTable::Serve(std::string_view method, const std::string& path, HttpRequestView request,
                       HttpAnswer& answer) const {
  bool answered = false;
  ServeAsync(method, path, std::move(request), [&](HttpAnswer given) {
    answer = std::move(given);
    answered = true;
  });
  if (!answered) answer.Error(500, "internal", "the handler did not answer before it returned");
}

void RouteTable::ServeAsync(std::string_view method, const std::string& path,
                            HttpRequestView request, HttpResponder respond) const {
  std::vector<std::string_view> methods;  // of the routes whose pattern matches
  for (const HttpRoute& route : routes_) {
    std::smatch match;
    if (!std::regex_match(path, match, route.compiled)) continue;
    if (route.method == method || (route.method == "GET" && method == "HEAD")) {
      request.path_params.assign(match.begin() + 1, match.end());
      route.handler(request, std::move(respond));
      return;
    }
    methods.push_back(route.method);
  }
  HttpAnswer answer;
  if (methods.empty()) {
    answer.Error(404, "not_found", "no such endpoint");
    return respond(std::move(answer));
  }
  std::string allow;
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}) {
    const std::string_view served = m == "HEAD" ? "GET" : m;
    if (std::find(methods.begin(), methods.end(), served) == methods.end()) continue;
    allow += (allow.empty() ? "" : ", ") + std::string(m);
  }
  answer.SetHeader("Allow", allow);
  answer.Error(405, "method_not_allowed",
               std::string(method) + " is not allowed here; allowed: " + allow);
  respond(std::move(answer));
}

void AddMetricsAndLiveness(RouteTable& routes, const MetricsRegistry& metrics) {
  routes.Get("/metrics", [&metrics](const HttpRequestView&, HttpAnswer& answer) {
    answer.body = metrics.RenderPrometheus();
    answer.content_type = "text/plain; version=0.0.4";
  });
  // Liveness: the process serves HTTP. Touches no dependency (GET /health does), so it answers
  // at once even while Redis or Kafka is slow.
  routes.Get("/live", [](const HttpRequestView&, HttpAnswer& answer) {
    answer.body = R"({"status":"live"})";
  });
}

std::string TakeRequestId(std::string_view offered, HttpAnswer& answer) {
  std::string id = RequestIdOr(offered);
  answer.SetHeader(kRequestIdHeader, id);
  return id;
}

}  // namespace rl::common
