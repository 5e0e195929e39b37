#include "gateway/limiter_pool.h"

#include <spdlog/spdlog.h>

#include <regex>

#include "common/base/settings.h"

namespace rl::gateway {

common::Result<std::vector<std::string>> ParseLimiterUrls(const std::string& list) {
  static const std::regex kUrl(R"(http://[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5})");
  std::vector<std::string> urls;
  for (std::string_view part : common::SplitList(list)) {
    std::string url(part);
    url.erase(url.find_last_not_of(" \t/") + 1);
    if (url.empty()) continue;
    if (!std::regex_match(url, kUrl)) {
      return common::Status::InvalidArgument("\"" + url + "\" is not http://host:port");
    }
    urls.push_back(url);
  }
  if (urls.empty()) return common::Status::InvalidArgument("no limiter URL given");
  return urls;
}

HttpLimiterPool::HttpLimiterPool(LimiterPoolOptions options, common::MetricsRegistry& metrics,
                                 const common::Clock& clock)
    : options_(std::move(options)), failure_log_(clock) {
  for (const auto& url : options_.urls) {
    auto limiter = std::make_unique<Limiter>();
    limiter->url = url;
    limiter->failovers = &metrics.AddCounter(
        "rl_gateway_limiter_failures_total",
        "Requests a limiter did not answer (moved on to the next one)", {{"limiter", url}});
    limiters_.push_back(std::move(limiter));
  }
}

std::unique_ptr<httplib::Client> HttpLimiterPool::Acquire(Limiter& limiter) {
  {
    std::lock_guard lock(limiter.mu);
    if (!limiter.idle.empty()) {
      auto client = std::move(limiter.idle.back());
      limiter.idle.pop_back();
      return client;
    }
  }
  auto client = std::make_unique<httplib::Client>(limiter.url);
  client->set_tcp_nodelay(true);
  client->set_keep_alive(true);
  const time_t sec = options_.timeout_ms / 1000;
  const time_t usec = (options_.timeout_ms % 1000) * 1000;
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  if (!options_.check_token.empty()) client->set_bearer_token_auth(options_.check_token);
  return client;
}

void HttpLimiterPool::Release(Limiter& limiter, std::unique_ptr<httplib::Client> client) {
  std::lock_guard lock(limiter.mu);
  if (limiter.idle.size() < options_.max_idle_per_limiter)
    limiter.idle.push_back(std::move(client));
}

std::optional<LimiterAnswer> HttpLimiterPool::Check(const std::string& path,
                                                    const std::string& body,
                                                    const std::string& content_type) {
  const size_t n = limiters_.size();
  const size_t first = next_.fetch_add(1, std::memory_order_relaxed) % n;
  for (size_t i = 0; i < n; ++i) {
    Limiter& limiter = *limiters_[(first + i) % n];
    auto client = Acquire(limiter);
    auto res = client->Post(path, body, content_type);
    if (res) {
      LimiterAnswer answer{res->status, res->body, res->headers};
      Release(limiter, std::move(client));
      return answer;
    }
    limiter.failovers->Inc();
    uint64_t suppressed = 0;
    if (failure_log_.ShouldLog(&suppressed)) {
      spdlog::warn(
          "gateway: limiter {} did not answer ({}); trying the next one ({} similar "
          "failures not logged)",
          limiter.url, httplib::to_string(res.error()), suppressed);
    }
    // A failed client is dropped, not reused.
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, bool>> HttpLimiterPool::Health() {
  std::vector<std::pair<std::string, bool>> out;
  for (auto& limiter : limiters_) {
    auto client = Acquire(*limiter);
    auto res = client->Get("/health");
    bool ok = res && res->status == 200;
    out.emplace_back(limiter->url, ok);
    if (res) Release(*limiter, std::move(client));
  }
  return out;
}

}  // namespace rl::gateway
