#pragma once
// The gateway's limiters as one event loop reaches them: keep-alive connections of the loop's own
// (libevent's evhttp client), no thread per request and no blocking call. Which limiters are up,
// and in which turn they are tried, comes from the process's HttpLimiterPool (its health checks
// and the failures every loop reports to it), so every loop and the threaded port agree.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gateway/limiter_pool.h"

struct event_base;
struct evhttp_connection;
struct evhttp_request;

namespace rl::gateway {

// One per loop; every method on that loop's thread, every answer handed over there. A limiter
// that fails a request (refused, reset, timed out after LIMITER_TIMEOUT_MS) is marked failed in
// `shared` and the next one up is tried; its connection is dropped, never reused. Destroyed after
// its loop has stopped.
class EventLimiterPool final : public LimiterBackend {
 public:
  EventLimiterPool(event_base* loop, HttpLimiterPool& shared);
  ~EventLimiterPool() override;
  EventLimiterPool(const EventLimiterPool&) = delete;
  EventLimiterPool& operator=(const EventLimiterPool&) = delete;

  void Forward(const std::string& path, const std::string& body, const std::string& content_type,
               const std::string& request_id, Answered done) override;
  std::vector<std::pair<std::string, bool>> Health() override { return shared_.Health(); }
  size_t UpCount() const override { return shared_.UpCount(); }

 private:
  struct Attempt;
  // Sends `attempt` to its next limiter, or answers nullopt when none is left.
  void TryNext(std::unique_ptr<Attempt> attempt);
  static void OnAnswer(evhttp_request* request, void* arg);
  evhttp_connection* Acquire(const std::string& url);
  void Release(const std::string& url, evhttp_connection* connection);
  // Frees `connection` once the loop is out of its callbacks.
  void Discard(evhttp_connection* connection);

  event_base* const loop_;
  HttpLimiterPool& shared_;
  std::map<std::string, std::vector<evhttp_connection*>> idle_;  // by limiter URL
  std::set<evhttp_connection*> open_;                           // every one not freed yet
};

}  // namespace rl::gateway
