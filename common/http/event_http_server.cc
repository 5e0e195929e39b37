#include "common/http/event_http_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>

#include "common/base/request_id.h"

namespace rl::common {

namespace {

std::string_view MethodName(evhttp_cmd_type method) {
  switch (method) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
    default:
      return "OTHER";
  }
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace

// One loop's server: its evhttp on the shared socket, its routes, and the connections waiting
// for an answer (so that one closed meanwhile is never answered).
struct EventHttpServer::Loop {
  // A connection's lifetime as its answers see it: gone once evhttp has freed it.
  struct Connection {
    bool gone = false;
  };

  int index = 0;
  EventHttpServer* server = nullptr;
  evhttp* http = nullptr;
  evconnlistener* listener = nullptr;
  RouteTable routes;
  std::map<evhttp_connection*, std::shared_ptr<Connection>> connections;
  std::atomic<uint64_t> accepted{0};  // connections, ever (read by the other loops)
  std::atomic<bool> accepting{true};  // whether its listener is enabled (set on its thread)
  event* recheck = nullptr;           // now and then: ResumeIfBehind, should a wake be missed

  // evhttp's hook for a new connection's bufferevent: the moment one is accepted.
  static bufferevent* OnAccepted(event_base* base, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    loop->accepted.fetch_add(1, std::memory_order_relaxed);
    loop->server->Balance(*loop);
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);  // as evhttp's own
  }

  static void OnRecheck(int, short, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    loop->server->ResumeIfBehind(*loop);
  }

  static void OnConnectionClosed(evhttp_connection* connection, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    auto it = loop->connections.find(connection);
    if (it == loop->connections.end()) return;
    it->second->gone = true;
    loop->connections.erase(it);
  }

  static void OnRequest(evhttp_request* req, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    evhttp_connection* connection = evhttp_request_get_connection(req);
    auto& state = loop->connections[connection];
    if (!state) {
      state = std::make_shared<Connection>();
      evhttp_connection_set_closecb(connection, &Loop::OnConnectionClosed, loop);
    }
    HttpRequestView view;
    evbuffer* in = evhttp_request_get_input_buffer(req);
    const size_t length = evbuffer_get_length(in);
    if (length > 0) {
      view.body = std::string_view(reinterpret_cast<const char*>(evbuffer_pullup(in, -1)), length);
    }
    for (evkeyval* header = evhttp_request_get_input_headers(req)->tqh_first; header != nullptr;
         header = header->next.tqe_next) {
      view.headers.emplace_back(header->key, header->value);
    }
    view.content_type = std::string(view.Header("Content-Type"));
    view.authorization = std::string(view.Header("Authorization"));
    view.request_id = std::string(view.Header(kRequestIdHeader));
    char* address = nullptr;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(connection, &address, &port);
    if (address) view.remote_address = address;
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
    const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
    const char* query = uri ? evhttp_uri_get_query(uri) : nullptr;
    evkeyvalq params{};  // an empty TAILQ: no first element, the last's next at the head
    params.tqh_last = &params.tqh_first;
    if (query != nullptr) evhttp_parse_query_str(query, &params);
    for (evkeyval* param = params.tqh_first; param != nullptr; param = param->next.tqe_next) {
      view.query.emplace_back(param->key, param->value);
    }
    char* decoded = path ? evhttp_uridecode(path, 0, nullptr) : nullptr;
    const std::string decoded_path = decoded ? decoded : "/";
    free(decoded);
    loop->routes.ServeAsync(
        MethodName(evhttp_request_get_command(req)), decoded_path, std::move(view),
        [req, connection = state](HttpAnswer answer) {
          if (connection->gone) return;  // the client left: evhttp has freed the request
          evkeyvalq* out = evhttp_request_get_output_headers(req);
          for (const auto& [name, value] : answer.headers) {
            evhttp_add_header(out, name.c_str(), value.c_str());
          }
          evhttp_add_header(out, "Content-Type", answer.content_type.c_str());
          evbuffer* body = evbuffer_new();
          evbuffer_add(body, answer.body.data(), answer.body.size());
          evhttp_send_reply(req, answer.status, Reason(answer.status), body);
          evbuffer_free(body);
        });
    evhttp_clear_headers(&params);
  }
};

EventHttpServer::EventHttpServer(EventLoops& loops, EventHttpOptions options,
                                 RoutesFor routes_for)
    : event_loops_(loops), options_(options), routes_for_(std::move(routes_for)) {}

EventHttpServer::~EventHttpServer() {
  for (auto& loop : loops_) {
    event_free(loop->recheck);
    loop->routes = RouteTable();  // what the routes hold goes first, while its loop exists
    evhttp_free(loop->http);      // closes its connections and its copy of the socket
  }
  loops_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Result<int> EventHttpServer::Start(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return Status::InvalidArgument("not an IPv4 address: " + host);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));  // never SO_REUSEPORT
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, SOMAXCONN) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                               why);
  }
  socklen_t length = sizeof(address);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  for (int i = 0; i < event_loops_.size(); ++i) {
    auto loop = std::make_unique<Loop>();
    loop->index = i;
    event_base* base = event_loops_.base(i);
    loop->http = evhttp_new(base);
    evhttp_set_max_headers_size(loop->http, static_cast<ev_ssize_t>(options_.max_header_bytes));
    evhttp_set_max_body_size(loop->http, static_cast<ev_ssize_t>(options_.max_body_bytes));
    evhttp_set_timeout(loop->http, options_.timeout_s);
    evhttp_set_allowed_methods(loop->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(loop->http, &Loop::OnRequest, loop.get());
    evhttp_set_bevcb(loop->http, &Loop::OnAccepted, loop.get());
    loop->server = this;
    loop->listener = evhttp_bound_socket_get_listener(
        evhttp_accept_socket_with_handle(loop->http, ::dup(listen_fd_)));
    loop->recheck = event_new(base, -1, EV_PERSIST, &Loop::OnRecheck, loop.get());
    const timeval every{0, 100'000};
    event_add(loop->recheck, &every);
    if (options_.metrics != nullptr) {
      options_.metrics->AddGaugeFn(
          "rl_event_loop_connections_accepted", "Connections each event loop has accepted",
          {{"loop", std::to_string(i)}}, [loop = loop.get()] {
            return static_cast<double>(loop->accepted.load(std::memory_order_relaxed));
          });
    }
    loop->routes = routes_for_(i, base);
    loops_.push_back(std::move(loop));
  }
  return static_cast<int>(ntohs(address.sin_port));
}

uint64_t EventHttpServer::LeastAccepted() const {
  uint64_t least = UINT64_MAX;
  for (const auto& loop : loops_) {
    least = std::min(least, loop->accepted.load(std::memory_order_relaxed));
  }
  return least;
}

void EventHttpServer::Balance(Loop& loop) {
  const uint64_t least = LeastAccepted();
  if (loop.accepting && loop.accepted.load(std::memory_order_relaxed) > least) {
    evconnlistener_disable(loop.listener);  // its listener stops draining the backlog here
    loop.accepting = false;
  }
  for (auto& other : loops_) {
    if (other.get() != &loop && !other->accepting &&
        other->accepted.load(std::memory_order_relaxed) <= least) {
      event_loops_.Post(other->index, [this, behind = other.get()] { ResumeIfBehind(*behind); });
    }
  }
}

void EventHttpServer::ResumeIfBehind(Loop& loop) {
  if (loop.accepting || loop.accepted.load(std::memory_order_relaxed) > LeastAccepted()) return;
  evconnlistener_enable(loop.listener);
  loop.accepting = true;
}

}  // namespace rl::common
