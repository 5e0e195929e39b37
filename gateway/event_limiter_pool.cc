#include "gateway/event_limiter_pool.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/base/request_id.h"

namespace rl::gateway {

namespace {

// "http://host:port" (host possibly "[v6]") as host and port.
std::pair<std::string, int> HostPort(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  const size_t colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, std::stoi(rest.substr(colon + 1))};
}

}  // namespace

// One request on its way: the limiters still to try, in turn, and whom to answer.
struct EventLimiterPool::Attempt {
  EventLimiterPool* pool = nullptr;
  std::string path, body, content_type, request_id;
  std::vector<std::string> limiters;  // the ones still to try, the next last
  std::string url;                    // the one tried now
  evhttp_connection* connection = nullptr;
  Answered done;
};

EventLimiterPool::EventLimiterPool(event_base* loop, HttpLimiterPool& shared)
    : loop_(loop), shared_(shared) {}

EventLimiterPool::~EventLimiterPool() {
  for (evhttp_connection* connection : open_) evhttp_connection_free(connection);
}

void EventLimiterPool::Forward(const std::string& path, const std::string& body,
                               const std::string& content_type, const std::string& request_id,
                               Answered done) {
  auto attempt = std::make_unique<Attempt>();
  attempt->pool = this;
  attempt->path = path;
  attempt->body = body;
  attempt->content_type = content_type;
  attempt->request_id = request_id;
  attempt->limiters = shared_.UpInTurn();
  std::reverse(attempt->limiters.begin(), attempt->limiters.end());  // taken from the back
  attempt->done = std::move(done);
  TryNext(std::move(attempt));
}

void EventLimiterPool::TryNext(std::unique_ptr<Attempt> attempt) {
  if (attempt->limiters.empty()) {
    Answered done = std::move(attempt->done);
    return done(std::nullopt);
  }
  attempt->url = std::move(attempt->limiters.back());
  attempt->limiters.pop_back();
  attempt->connection = Acquire(attempt->url);
  Attempt* sent = attempt.release();  // owned by the request until OnAnswer
  evhttp_request* request = evhttp_request_new(&EventLimiterPool::OnAnswer, sent);
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Host", HostPort(sent->url).first.c_str());
  evhttp_add_header(headers, "Content-Type", sent->content_type.c_str());
  evhttp_add_header(headers, common::kRequestIdHeader, sent->request_id.c_str());
  const std::string& token = shared_.options().check_token;
  if (!token.empty()) evhttp_add_header(headers, "Authorization", ("Bearer " + token).c_str());
  evbuffer_add(evhttp_request_get_output_buffer(request), sent->body.data(), sent->body.size());
  if (evhttp_make_request(sent->connection, request, EVHTTP_REQ_POST, sent->path.c_str()) != 0) {
    // evhttp has freed the request: it will never answer.
    std::unique_ptr<Attempt> failed(sent);
    Discard(failed->connection);
    shared_.MarkFailed(failed->url, "the request could not be sent");
    TryNext(std::move(failed));
  }
}

void EventLimiterPool::OnAnswer(evhttp_request* request, void* arg) {
  std::unique_ptr<Attempt> attempt(static_cast<Attempt*>(arg));
  EventLimiterPool& pool = *attempt->pool;
  const int status = request != nullptr ? evhttp_request_get_response_code(request) : 0;
  if (status == 0) {  // refused, reset or timed out: no answer at all
    pool.Discard(attempt->connection);
    pool.shared_.MarkFailed(attempt->url, request == nullptr ? "connection failed" : "no answer");
    return pool.TryNext(std::move(attempt));
  }
  LimiterAnswer answer;
  answer.status = status;
  evbuffer* in = evhttp_request_get_input_buffer(request);
  const size_t length = evbuffer_get_length(in);
  answer.body.resize(length);
  evbuffer_copyout(in, answer.body.data(), length);
  for (evkeyval* header = evhttp_request_get_input_headers(request)->tqh_first;
       header != nullptr; header = header->next.tqe_next) {
    answer.headers.emplace(header->key, header->value);
  }
  pool.Release(attempt->url, attempt->connection);
  Answered done = std::move(attempt->done);
  done(std::move(answer));
}

evhttp_connection* EventLimiterPool::Acquire(const std::string& url) {
  auto& idle = idle_[url];
  if (!idle.empty()) {
    evhttp_connection* connection = idle.back();
    idle.pop_back();
    return connection;
  }
  const auto [host, port] = HostPort(url);
  evhttp_connection* connection =
      evhttp_connection_base_new(loop_, nullptr, host.c_str(), static_cast<uint16_t>(port));
  const int timeout_ms = shared_.options().timeout_ms;
  const timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  evhttp_connection_set_timeout_tv(connection, &timeout);
  evhttp_connection_set_retries(connection, 0);  // a failed request goes to the next limiter
  open_.insert(connection);
  return connection;
}

void EventLimiterPool::Release(const std::string& url, evhttp_connection* connection) {
  auto& idle = idle_[url];
  if (idle.size() < shared_.options().max_idle_per_limiter) {
    idle.push_back(connection);
  } else {
    Discard(connection);
  }
}

void EventLimiterPool::Discard(evhttp_connection* connection) {
  open_.erase(connection);
  // Not from within its own callback: on the loop's next turn.
  event_base_once(
      loop_, -1, EV_TIMEOUT,
      [](int, short, void* arg) { evhttp_connection_free(static_cast<evhttp_connection*>(arg)); },
      connection, nullptr);
}

}  // namespace rl::gateway
