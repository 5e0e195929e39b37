#include "common/redis/redis_subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace rl::common {
namespace {

timeval ToTimeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

// ["message", channel, payload] of a subscribed connection.
bool IsMessage(const redisReply* r) {
  return r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
         r->element[0]->type == REDIS_REPLY_STRING &&
         std::string(r->element[0]->str, r->element[0]->len) == "message" &&
         r->element[2]->type == REDIS_REPLY_STRING;
}

}  // namespace

RedisSubscriber::RedisSubscriber(RedisSubscriberOptions options,
                                 std::function<void(const std::string&)> on_message,
                                 std::function<void(bool)> on_link)
    : options_(std::move(options)),
      on_message_(std::move(on_message)),
      on_link_(std::move(on_link)),
      thread_([this] { Run(); }) {}

RedisSubscriber::~RedisSubscriber() {
  stop_ = true;
  thread_.join();
}

void RedisSubscriber::Run() {
  int backoff_ms = 50;
  size_t next = 0;
  while (!stop_) {
    if (options_.endpoints.empty()) return;
    const RedisEndpoint& endpoint = options_.endpoints[next++ % options_.endpoints.size()];
    if (Listen(endpoint)) backoff_ms = 50;
    // Wait before the next attempt, in steps short enough for a prompt stop.
    for (int waited = 0; waited < backoff_ms && !stop_; waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
  }
}

bool RedisSubscriber::Listen(const RedisEndpoint& endpoint) {
  redisContext* c =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(options_.timeout_ms));
  if (c == nullptr) return false;
  if (c->err) {
    redisFree(c);
    return false;
  }
  redisSetTimeout(c, ToTimeval(options_.timeout_ms));
  auto command = [&](const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const auto& a : argv) args.push_back(a.data()), lens.push_back(a.size());
    return static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
  };
  if (!endpoint.password.empty()) {
    redisReply* auth =
        command(endpoint.username.empty()
                    ? std::vector<std::string>{"AUTH", endpoint.password}
                    : std::vector<std::string>{"AUTH", endpoint.username, endpoint.password});
    const bool ok = auth != nullptr && auth->type != REDIS_REPLY_ERROR;
    if (auth) freeReplyObject(auth);
    if (!ok) {
      redisFree(c);
      return false;
    }
  }
  redisReply* subscribed = command({"SUBSCRIBE", options_.channel});
  const bool ok = subscribed != nullptr && subscribed->type == REDIS_REPLY_ARRAY;
  if (subscribed) freeReplyObject(subscribed);
  if (!ok) {
    redisFree(c);
    return false;
  }
  on_link_(true);
  // Read only when the socket is readable, so the wait can end for stop_ without a read timeout
  // (after which a hiredis context is unusable).
  while (!stop_) {
    pollfd p{c->fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready == 0) continue;
    if (ready < 0 || redisBufferRead(c) != REDIS_OK) break;
    void* reply = nullptr;
    bool broken = false;
    while (true) {
      if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
        broken = true;
        break;
      }
      if (reply == nullptr) break;
      auto* r = static_cast<redisReply*>(reply);
      if (IsMessage(r)) on_message_(std::string(r->element[2]->str, r->element[2]->len));
      freeReplyObject(r);
    }
    if (broken) break;
  }
  if (!stop_) {
    spdlog::warn("redis {}: the subscription to {} was lost ({}); reconnecting",
                 endpoint.Describe(), options_.channel, c->errstr[0] ? c->errstr : "closed");
  }
  on_link_(false);
  redisFree(c);
  return true;
}

}  // namespace rl::common
