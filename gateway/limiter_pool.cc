#include "gateway/limiter_pool.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <regex>

#include "common/base/request_id.h"
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

namespace {

// "http://host:port" as host and port ("[::1]" gives "::1").
std::pair<std::string, std::string> HostAndPort(const std::string& url) {
  std::string rest = url.substr(7);  // after http://
  const size_t colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, rest.substr(colon + 1)};
}

}  // namespace

std::vector<std::string> ResolveAll(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::vector<std::string> out;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* address =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, address, text, sizeof(text)) != nullptr) out.emplace_back(text);
  }
  freeaddrinfo(found);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> ResolveUrl(const std::string& url) {
  const auto [host, port] = HostAndPort(url);
  std::vector<std::string> urls;
  for (const auto& address : ResolveAll(host)) {
    const bool v6 = address.find(':') != std::string::npos;
    urls.push_back("http://" + (v6 ? "[" + address + "]" : address) + ":" + port);
  }
  return urls;
}

HttpLimiterPool::HttpLimiterPool(LimiterPoolOptions options, common::MetricsRegistry& metrics,
                                 const common::Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      limiters_(std::make_shared<LimiterList>()),
      failure_log_(clock) {
  Resolve();
}

std::shared_ptr<const HttpLimiterPool::LimiterList> HttpLimiterPool::Snapshot() const {
  std::lock_guard lock(mu_);
  return limiters_;
}

void HttpLimiterPool::Resolve() {
  std::lock_guard resolving(resolve_mu_);
  auto previous = Snapshot();
  std::map<std::string, std::shared_ptr<Limiter>> known;
  for (const auto& limiter : *previous) known[limiter->url] = limiter;
  auto next = std::make_shared<LimiterList>();
  for (const auto& url : options_.urls) {
    std::vector<std::string> addresses = ResolveUrl(url);
    std::vector<std::string>& urls = resolved_[url];
    if (!addresses.empty()) {
      urls = std::move(addresses);
    } else if (urls.empty()) {
      urls.push_back(url);  // never resolved yet: connect by name, as the client would
    } else {
      // Not resolvable now (a container restarting): keep what it resolved to before.
      spdlog::warn("gateway: {} does not resolve now; keeping its earlier addresses", url);
    }
    for (const auto& resolved : urls) {
      auto& limiter = known[resolved];
      if (!limiter) {
        limiter = std::make_shared<Limiter>();
        limiter->url = resolved;
        limiter->failovers =
            &metrics_.AddCounter("rl_gateway_limiter_failures_total",
                                 "Requests a limiter did not answer (moved on to the next one)",
                                 {{"limiter", resolved}});
        if (!previous->empty()) spdlog::info("gateway: limiter {} joined", resolved);
      }
      if (std::find(next->begin(), next->end(), limiter) == next->end()) next->push_back(limiter);
    }
  }
  std::lock_guard lock(mu_);
  limiters_ = std::move(next);
}

void HttpLimiterPool::Refresh() {
  Resolve();
  const auto limiters = Snapshot();
  for (const auto& limiter : *limiters) {
    auto client = Acquire(*limiter);
    // Liveness, not /health: a limiter whose Redis or Kafka is down still decides (by its fail
    // mode), those are usually every limiter's dependencies too, and /health waits for them.
    auto res = client->Get("/live");
    const bool healthy = res && res->status == 200;
    if (healthy != limiter->healthy.exchange(healthy)) {
      spdlog::info("gateway: limiter {} {}", limiter->url,
                   healthy ? "answers again" : "does not answer its health check");
    }
    if (res) Release(*limiter, std::move(client));
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

std::vector<std::string> HttpLimiterPool::UpInTurn() {
  const auto limiters = Snapshot();
  const size_t n = limiters->size();
  std::vector<std::string> order;
  if (n == 0) return order;
  const size_t first = next_.fetch_add(1, std::memory_order_relaxed) % n;
  // Never one marked down: it would cost a timeout per request until its next health check.
  for (size_t i = 0; i < n; ++i) {
    const Limiter& limiter = *(*limiters)[(first + i) % n];
    if (limiter.healthy.load()) order.push_back(limiter.url);
  }
  return order;
}

void HttpLimiterPool::MarkFailed(const std::string& url, const std::string& why) {
  const auto limiters = Snapshot();
  for (const auto& limiter : *limiters) {
    if (limiter->url != url) continue;
    limiter->failovers->Inc();
    limiter->healthy = false;  // until its next good health check
  }
  uint64_t suppressed = 0;
  if (failure_log_.ShouldLog(&suppressed)) {
    spdlog::warn(
        "gateway: limiter {} did not answer ({}); trying the next one ({} similar failures not "
        "logged)",
        url, why, suppressed);
  }
}

std::optional<LimiterAnswer> HttpLimiterPool::Check(const std::string& path,
                                                    const std::string& body,
                                                    const std::string& content_type,
                                                    const std::string& request_id) {
  const auto limiters = Snapshot();  // held while its limiters are used
  for (const std::string& url : UpInTurn()) {
    auto it = std::find_if(limiters->begin(), limiters->end(),
                           [&](const auto& limiter) { return limiter->url == url; });
    if (it == limiters->end()) continue;  // re-resolved away meanwhile
    Limiter& limiter = **it;
    auto client = Acquire(limiter);
    auto res = client->Post(path, {{common::kRequestIdHeader, request_id}}, body, content_type);
    if (res) {
      LimiterAnswer answer{res->status, res->body, res->headers};
      Release(limiter, std::move(client));
      return answer;
    }
    MarkFailed(url, httplib::to_string(res.error()));  // a failed client is dropped, not reused
  }
  return std::nullopt;
}

size_t HttpLimiterPool::UpCount() const {
  const auto limiters = Snapshot();
  size_t up = 0;
  for (const auto& limiter : *limiters) up += limiter->healthy.load() ? 1 : 0;
  return up;
}

std::vector<std::pair<std::string, bool>> HttpLimiterPool::Health() {
  std::vector<std::pair<std::string, bool>> out;
  const auto limiters = Snapshot();  // held: Resolve() may replace the list meanwhile
  for (const auto& limiter : *limiters) {
    auto client = Acquire(*limiter);
    auto res = client->Get("/health");
    bool ok = res && res->status == 200;
    out.emplace_back(limiter->url, ok);
    if (res) Release(*limiter, std::move(client));
  }
  return out;
}

}  // namespace rl::gateway
