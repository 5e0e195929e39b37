#pragma once
// rlctl's HTTP calls to the stack: one JSON call at a time, and a failure said in words.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace rl::rlctl {

// A JSON value as a table cell: strings as they are, null as "-", the rest as JSON.
std::string Str(const nlohmann::json& v);

// One HTTP call's answer: the status and the JSON body ({"raw": <text>} if it was not JSON).
struct Answer {
  int status = 0;
  nlohmann::json body;
};

// `method` `path` on `base` (http://host:port), with a Bearer `token` if set: the answer, or
// nullopt with *error saying why nothing answered (the name does not resolve, refused, no answer
// in time, ...).
std::optional<Answer> Call(const std::string& base, const std::string& method,
                           const std::string& path, const std::string& token,
                           const std::string& body, std::string* error);

// "HTTP <status>: <the error body's message>". Pure.
std::string ErrorOf(const Answer& a);

// Percent-encodes everything but unreserved characters (RFC 3986), for a path segment or a query
// value. Pure.
std::string UrlPart(const std::string& s);

}  // namespace rl::rlctl
