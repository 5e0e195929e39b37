#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/redis/redis_client.h"

namespace rl::common {

struct RedisSubscriberOptions {
  // Where to subscribe: the first that answers, tried in turn (in a Redis Cluster any node
  // carries every PUBLISH).
  std::vector<RedisEndpoint> endpoints;
  std::string channel;
  int timeout_ms = 500;       // connect and SUBSCRIBE
  int max_backoff_ms = 2000;  // between failed attempts, doubling from 50 ms
};

// Listens to one Redis pub/sub channel on a thread and a connection of its own, reconnecting with
// backoff. `on_link(true)` once subscribed (every message published from then on arrives),
// `on_link(false)` when the connection is lost (messages may be missed until the next
// `on_link(true)`); `on_message(payload)` for each message. Callbacks run on the subscriber's
// thread, never after the destructor returns. Thread-safe.
class RedisSubscriber {
 public:
  RedisSubscriber(RedisSubscriberOptions options,
                  std::function<void(const std::string& payload)> on_message,
                  std::function<void(bool subscribed)> on_link);
  ~RedisSubscriber();  // unsubscribes and joins
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

 private:
  void Run();
  // One connection's life: subscribes, then delivers messages until it fails or stop_. False if
  // it never subscribed.
  bool Listen(const RedisEndpoint& endpoint);

  const RedisSubscriberOptions options_;
  const std::function<void(const std::string&)> on_message_;
  const std::function<void(bool)> on_link_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rl::common
