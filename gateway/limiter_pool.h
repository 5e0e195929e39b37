#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/status.h"

namespace rl::gateway {

// What a limiter answered to POST /check or /check/batch.
struct LimiterAnswer {
  int status = 0;
  std::string body;
  httplib::Headers headers;
};

// The limiters behind the gateway.
class LimiterBackend {
 public:
  using Answered = std::function<void(std::optional<LimiterAnswer>)>;
  virtual ~LimiterBackend() = default;
  // Sends POST `path` (/check or /check/batch) with X-Request-Id `request_id` to one limiter
  // after another, round-robin, until one answers, and hands `done` its answer, or nullopt if
  // none did: before Forward returns (HttpLimiterPool, thread-safe), or later from an event loop
  // (EventLimiterPool, that loop's thread only).
  virtual void Forward(const std::string& path, const std::string& body,
                       const std::string& content_type, const std::string& request_id,
                       Answered done) = 0;
  // GET /health of every limiter: its URL and whether it answered 200.
  virtual std::vector<std::pair<std::string, bool>> Health() = 0;
  // How many limiters are up by the last health checks and answers, without asking them.
  virtual size_t UpCount() const = 0;
};

struct LimiterPoolOptions {
  std::vector<std::string> urls;     // LIMITER_URLS, "http://host:port" each
  int health_interval_ms = 1000;     // LIMITER_HEALTH_INTERVAL_MS: re-resolve and health-check
  int timeout_ms = 1000;             // LIMITER_TIMEOUT_MS: connect and read timeout per try
  size_t max_idle_per_limiter = 64;  // keep-alive connections kept per limiter
  std::string check_token;           // CHECK_TOKEN, sent to the limiters as a Bearer token
};

// Splits "http://a:1, http://b:2" into URLs, checking each is http://host:port.
common::Result<std::vector<std::string>> ParseLimiterUrls(const std::string& list);

// Every address `host` resolves to (numeric, IPv4 and IPv6), sorted; empty if it does not resolve.
std::vector<std::string> ResolveAll(const std::string& host);
// "http://host:port" as one URL per address of host (ResolveAll); empty if it does not resolve.
std::vector<std::string> ResolveUrl(const std::string& url);

// LimiterBackend over HTTP keep-alive connections, a small pool per limiter. Each configured URL
// stands for every address its host resolves to, so a name with several addresses (a scaled
// docker compose service) reaches every replica. Refresh(), every LIMITER_HEALTH_INTERVAL_MS,
// re-resolves the names and GETs /live of each limiter: requests go round-robin to the ones that
// answered, never to one marked down (so a hung limiter costs one timeout, not one per request:
// with none up, Check answers nullopt at once and the gateway's fail mode answers). A transport
// failure (refused, reset, timed out) marks the limiter down until its next good health check,
// moves on to the next limiter and counts a failover.
class HttpLimiterPool final : public LimiterBackend {
 public:
  HttpLimiterPool(LimiterPoolOptions options, common::MetricsRegistry& metrics,
                  const common::Clock& clock);
  // The answer of the first limiter up to answer, in turn; nullopt if none did.
  std::optional<LimiterAnswer> Check(const std::string& path, const std::string& body,
                                     const std::string& content_type,
                                     const std::string& request_id);
  void Forward(const std::string& path, const std::string& body, const std::string& content_type,
               const std::string& request_id, Answered done) override {
    done(Check(path, body, content_type, request_id));
  }
  std::vector<std::pair<std::string, bool>> Health() override;
  size_t UpCount() const override;
  // Re-resolves the configured names and health-checks every limiter.
  void Refresh();
  // The limiters up by the last health checks and answers, round-robin from the next one: the
  // order in which a request tries them (EventLimiterPool follows it too).
  std::vector<std::string> UpInTurn();
  // `url` did not answer `why`: down until its next good health check, counted and logged
  // (throttled).
  void MarkFailed(const std::string& url, const std::string& why);
  const LimiterPoolOptions& options() const { return options_; }

 private:
  struct Limiter {
    std::string url;  // http://<address>:<port>
    std::mutex mu;
    std::vector<std::unique_ptr<httplib::Client>> idle;
    common::Counter* failovers;
    std::atomic<bool> healthy{true};
  };
  using LimiterList = std::vector<std::shared_ptr<Limiter>>;
  std::shared_ptr<const LimiterList> Snapshot() const;
  // The limiters of every configured URL as they resolve now (existing ones kept).
  void Resolve();
  std::unique_ptr<httplib::Client> Acquire(Limiter& limiter);
  void Release(Limiter& limiter, std::unique_ptr<httplib::Client> client);

  const LimiterPoolOptions options_;
  common::MetricsRegistry& metrics_;
  mutable std::mutex mu_;                        // guards limiters_
  std::shared_ptr<const LimiterList> limiters_;  // replaced whole by Resolve()
  std::mutex resolve_mu_;                        // one Resolve() at a time; guards resolved_
  std::map<std::string, std::vector<std::string>> resolved_;  // configured URL -> last addresses
  std::atomic<uint64_t> next_{0};
  common::LogThrottle failure_log_;
};

}  // namespace rl::gateway
