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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>
#include <vector>

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
    int requests = 0;  // answered so far (keep_alive_max_requests)
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
  event* adopt = nullptr;             // made active by OnAccepted: Adopt what was accepted
  std::vector<bufferevent*> accepted_now;  // accepted, not yet adopted (each with a reference)

  // evhttp's hook for a new connection's bufferevent: the moment one is accepted.
  static bufferevent* OnAccepted(event_base* base, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    loop->accepted.fetch_add(1, std::memory_order_relaxed);
    loop->server->Balance(*loop);
    bufferevent* made = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);  // as evhttp's
    if (made == nullptr) return nullptr;
    // evhttp makes the connection once this returns; Adopt finds it in the same turn of the loop,
    // before any byte of it is read. The reference keeps `made` valid should evhttp free it first.
    bufferevent_incref(made);
    loop->accepted_now.push_back(made);
    event_active(loop->adopt, EV_TIMEOUT, 0);
    return made;
  }

  static void OnAdopt(int, short, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    std::vector<bufferevent*> accepted;
    accepted.swap(loop->accepted_now);
    for (bufferevent* made : accepted) loop->server->Adopt(*loop, made);
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
    loop->server->open_.fetch_sub(1, std::memory_order_relaxed);
  }

  static void OnRequest(evhttp_request* req, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    evhttp_connection* connection = evhttp_request_get_connection(req);
    auto found = loop->connections.find(connection);
    if (found == loop->connections.end()) {  // never expected: Adopt saw every connection
      evhttp_send_error(req, 503, nullptr);
      return;
    }
    std::shared_ptr<Connection> state = found->second;
    const bool last = ++state->requests >= loop->server->options_.keep_alive_max_requests;
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
        [req, last, connection = std::move(state)](HttpAnswer answer) {
          if (connection->gone) return;  // the client left: evhttp has freed the request
          evkeyvalq* out = evhttp_request_get_output_headers(req);
          for (const auto& [name, value] : answer.headers) {
            evhttp_add_header(out, name.c_str(), value.c_str());
          }
          if (last) evhttp_add_header(out, "Connection", "close");  // evhttp closes after it
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
    event_free(loop->adopt);
    for (bufferevent* made : loop->accepted_now) bufferevent_decref(made);
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
  const int bound_port = ntohs(address.sin_port);
  max_connections_ = WithinFileLimit(options_.max_connections, bound_port);
  if (options_.metrics != nullptr) {
    const Labels port_label{{"port", std::to_string(bound_port)}};
    refused_metric_ = &options_.metrics->AddCounter(
        "rl_http_connections_refused_total",
        "Connections answered 503 and closed because HTTP_MAX_CONNECTIONS were open", port_label);
    options_.metrics->AddGaugeFn("rl_http_connections_open",
                                 "Connections open on the event-loop port", port_label,
                                 [this] { return static_cast<double>(open_.load()); });
  }
  for (int i = 0; i < event_loops_.size(); ++i) {
    auto loop = std::make_unique<Loop>();
    loop->index = i;
    event_base* base = event_loops_.base(i);
    loop->http = evhttp_new(base);
    evhttp_set_max_headers_size(loop->http, static_cast<ev_ssize_t>(options_.max_header_bytes));
    evhttp_set_max_body_size(loop->http, static_cast<ev_ssize_t>(options_.max_body_bytes));
    const timeval timeout{options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
    evhttp_set_timeout_tv(loop->http, &timeout);
    evhttp_set_allowed_methods(loop->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(loop->http, &Loop::OnRequest, loop.get());
    evhttp_set_bevcb(loop->http, &Loop::OnAccepted, loop.get());
    loop->server = this;
    loop->listener = evhttp_bound_socket_get_listener(
        evhttp_accept_socket_with_handle(loop->http, ::dup(listen_fd_)));
    loop->recheck = event_new(base, -1, EV_PERSIST, &Loop::OnRecheck, loop.get());
    loop->adopt = event_new(base, -1, 0, &Loop::OnAdopt, loop.get());
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
  return bound_port;
}

void EventHttpServer::Adopt(Loop& loop, bufferevent* accepted) {
  void* callback_arg = nullptr;
  bufferevent_getcb(accepted, nullptr, nullptr, nullptr, &callback_arg);
  // evhttp gives its connection as the argument of the bufferevent's callbacks; none once it
  // has freed the connection (only when it failed to make its first request).
  auto* connection = static_cast<evhttp_connection*>(callback_arg);
  if (connection != nullptr) {
    loop.connections.emplace(connection, std::make_shared<Loop::Connection>());
    evhttp_connection_set_closecb(connection, &Loop::OnConnectionClosed, &loop);
    if (open_.fetch_add(1, std::memory_order_relaxed) >= max_connections_) {
      Refuse(accepted);
      evhttp_connection_free(connection);  // OnConnectionClosed counts it out
    }
  }
  bufferevent_decref(accepted);
}

void EventHttpServer::Refuse(bufferevent* accepted) {
  if (refused_metric_ != nullptr) refused_metric_->Inc();
  uint64_t suppressed = 0;
  if (refused_log_.ShouldLog(&suppressed)) {
    spdlog::warn("http: {} connections are open (HTTP_MAX_CONNECTIONS): a new one is answered "
                 "503 and closed ({} more since the last line)",
                 max_connections_, suppressed);
  }
  // A connection just accepted has an empty send buffer: the short answer goes out whole.
  static constexpr std::string_view kAnswer =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: 83\r\nConnection: close\r\n\r\n"
      R"({"error":{"code":"too_many_connections","message":"HTTP_MAX_CONNECTIONS are open"}})";
  const int fd = bufferevent_getfd(accepted);
  if (fd >= 0) {
    [[maybe_unused]] const ssize_t sent =
        ::send(fd, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

int EventHttpServer::WithinFileLimit(int max_connections, int port) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) {
    return max_connections;
  }
  // What the rest of the process holds open (Redis, Kafka, the other ports, logs) stays free.
  constexpr rlim_t kKeptForTheRest = 256;
  const rlim_t room = files.rlim_cur > kKeptForTheRest ? files.rlim_cur - kKeptForTheRest : 1;
  if (static_cast<rlim_t>(max_connections) <= room) return max_connections;
  spdlog::warn("port {}: HTTP_MAX_CONNECTIONS={} lowered to {}: the file descriptor limit "
               "(ulimit -n) is {}; raise it to allow more",
               port, max_connections, room, files.rlim_cur);
  return static_cast<int>(room);
}

EventHttpOptions EventHttpOptions::From(const HttpServerOptions& http, size_t max_body_bytes,
                                        MetricsRegistry* metrics) {
  EventHttpOptions options;
  options.max_body_bytes = max_body_bytes;
  options.timeout_ms = std::min(http.read_timeout_ms, http.keep_alive_timeout_s * 1000);
  options.max_connections = http.max_connections;
  options.keep_alive_max_requests = http.keep_alive_max_requests;
  options.metrics = metrics;
  return options;
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
