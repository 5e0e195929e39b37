#include "tools/rlctl/http_call.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace rl::rlctl {

using nlohmann::json;

std::string Str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

// Why `base` (http://host:port) did not answer, in words: the name does not resolve, nothing
// listens (refused), no answer in time, ... httplib says only "Connection" or "Read".
namespace {

std::string WhyUnreachable(const std::string& base, httplib::Error error) {
  if (error == httplib::Error::Read) return "no answer within 5 s (the server is hung or slow)";
  if (error != httplib::Error::Connection) return httplib::to_string(error);
  std::string rest = base.substr(base.find("://") == std::string::npos ? 0 : base.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  const size_t colon = rest.rfind(':');
  const std::string host = rest.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return "the name " + host + " does not resolve (DNS)";
  }
  std::string why = "connection failed";
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd >= 0) {
    if (::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
      why = "it accepted a connection only now (try again)";
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      if (::poll(&p, 1, 3000) == 0) {
        why = "connection timed out after 3 s (a firewall, or a host that is down)";
      } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error != 0) {
        why = so_error == ECONNREFUSED ? "connection refused (nothing listens on " + rest + ")"
                                       : std::string(std::strerror(so_error));
      }
    } else {
      why = errno == ECONNREFUSED ? "connection refused (nothing listens on " + rest + ")"
                                  : std::string(std::strerror(errno));
    }
    ::close(fd);
  }
  freeaddrinfo(found);
  return why;
}

}  // namespace

std::optional<Answer> Call(const std::string& base, const std::string& method,
                           const std::string& path, const std::string& token,
                           const std::string& body, std::string* error) {
  httplib::Client client(base);
  client.set_connection_timeout(3, 0);
  client.set_read_timeout(5, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result res = method == "POST"     ? client.Post(path, headers, body, "application/json")
                        : method == "DELETE" ? client.Delete(path, headers)
                                             : client.Get(path, headers);
  if (!res) {
    *error = "cannot reach " + base + ": " + WhyUnreachable(base, res.error());
    return std::nullopt;
  }
  Answer a;
  a.status = res->status;
  a.body = json::parse(res->body, nullptr, false);
  if (a.body.is_discarded()) a.body = json{{"raw", res->body}};
  return a;
}

std::string ErrorOf(const Answer& a) {
  if (a.body.contains("error") && a.body["error"].is_object()) {
    return "HTTP " + std::to_string(a.status) + ": " +
           Str(a.body["error"].value("message", json()));
  }
  return "HTTP " + std::to_string(a.status);
}

std::string UrlPart(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace rl::rlctl
