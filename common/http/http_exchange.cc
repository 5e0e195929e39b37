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

std::string TakeRequestId(std::string_view offered, HttpAnswer& answer) {
  std::string id = RequestIdOr(offered);
  answer.SetHeader(kRequestIdHeader, id);
  return id;
}

}  // namespace rl::common
