#include "limiter/reference_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/base/settings.h"

namespace rl::limiter {

using common::Result;
using common::Status;

namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool IsTrue(const std::string& value) {
  const std::string v = Lower(value);
  return v == "true" || v == "1" || v == "yes" || v == "on";
}

// A Go duration as the reference's settings take them ("10s", "500ms", "1m"), in milliseconds.
Result<int64_t> DurationMs(const std::string& text) {
  int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  const std::string unit(end, text.data() + text.size());
  const std::map<std::string, int64_t> scale = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"", 1000}};
  const auto it = scale.find(unit);
  if (error != std::errc() || number < 0 || it == scale.end()) {
    return Status::InvalidArgument("\"" + text + "\" is not a duration such as 500ms or 10s");
  }
  return number * it->second;
}

class Translator {
 public:
  explicit Translator(const std::map<std::string, std::string>& env) { out_.vars = env; }

  const std::string* Get(const std::string& name) const {
    auto it = out_.vars.find(name);
    return it == out_.vars.end() ? nullptr : &it->second;
  }

  // Sets this limiter's `ours` from the reference's `theirs`; an error if `ours` is already set
  // to something else.
  Status Map(const std::string& theirs, const std::string& ours, const std::string& value) {
    if (const std::string* already = Get(ours); already != nullptr && *already != value) {
      return Status::InvalidArgument(theirs + " says " + ours + "=\"" + value + "\", but " + ours +
                                     " is set to \"" + *already + "\": set one of them");
    }
    out_.vars[ours] = value;
    out_.notes.push_back(theirs + ": as " + ours + "=" + value);
    return Status::Ok();
  }
  // A setting both services name alike, given in the reference's form: rewritten in this one's.
  void Rewrite(const std::string& name, const std::string& value, const std::string& note) {
    out_.vars[name] = value;
    out_.notes.push_back(name + ": " + note);
  }
  void Note(const std::string& theirs, const std::string& why) {
    out_.notes.push_back(theirs + ": " + why);
  }
  TranslatedSettings Done() { return std::move(out_); }

 private:
  TranslatedSettings out_;
};

// REDIS_URL in the reference's form ("host:port", a list of them for a cluster), with REDIS_AUTH
// ("password" or "user:password"), as this limiter's redis:// URLs.
std::string RedisUrls(const std::string& list, const std::string* auth) {
  std::string urls;
  for (std::string_view address : common::SplitList(list)) {
    if (address.empty()) continue;
    urls += (urls.empty() ? "" : ",") + std::string("redis://");
    if (auth != nullptr && !auth->empty()) {
      urls += (auth->find(':') == std::string::npos ? ":" : "") + *auth + "@";
    }
    urls += std::string(address);
  }
  return urls;
}

}  // namespace

const char* const kReferenceMarkers[7] = {"RUNTIME_ROOT",      "RUNTIME_SUBDIRECTORY",
                                          "RUNTIME_APPDIRECTORY", "REDIS_SOCKET_TYPE",
                                          "REDIS_TYPE",        "USE_STATSD",
                                          "CONFIG_TYPE"};

Result<TranslatedSettings> TranslateReferenceSettings(
    const std::map<std::string, std::string>& env) {
  Translator t(env);
  auto get = [&](const char* name) { return t.Get(name); };
  const bool reference = std::any_of(
      std::begin(kReferenceMarkers), std::end(kReferenceMarkers),
      [&](const char* marker) { return get(marker) != nullptr; });
  if (!reference) return t.Done();  // PORT, HOST, ... may mean anything to anyone else
#define RL_TRY(expr)                    \
  if (Status s = (expr); !s.ok()) {     \
    return s;                           \
  }
  if (const std::string* port = get("PORT")) RL_TRY(t.Map("PORT", "LIMITER_PORT", *port));
  if (const std::string* host = get("HOST")) {
    RL_TRY(t.Map("HOST", "LIMITER_HOST", *host));
  } else if (!get("LIMITER_HOST")) {
    RL_TRY(t.Map("HOST (the reference's default)", "LIMITER_HOST", "0.0.0.0"));
  }
  for (const char* name : {"GRPC_HOST", "DEBUG_HOST", "DEBUG_PORT"}) {
    if (get(name)) t.Note(name, "ignored: gRPC listens on LIMITER_HOST; /metrics, /config and the "
                                "admin routes are on the HTTP port (PORT)");
  }
  // The config directory: RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/RUNTIME_APPDIRECTORY, watched.
  if (get("RUNTIME_ROOT") || get("RUNTIME_SUBDIRECTORY")) {
    std::string dir = get("RUNTIME_ROOT") ? *get("RUNTIME_ROOT") : "/srv/runtime_data/current";
    for (const char* part : {"RUNTIME_SUBDIRECTORY", "RUNTIME_APPDIRECTORY"}) {
      const std::string* value = get(part);
      const std::string piece = value ? *value : (std::string(part) == "RUNTIME_APPDIRECTORY"
                                                      ? "config" : "");
      if (!piece.empty()) dir += (dir.empty() || dir.back() == '/' ? "" : "/") + piece;
    }
    RL_TRY(t.Map("RUNTIME_ROOT", "LIMITS_FILE", dir));
  }
  if (get("RUNTIME_WATCH_ROOT")) {
    t.Note("RUNTIME_WATCH_ROOT", "accepted: the directory is read again by its path every "
                                 "LIMITS_RELOAD_INTERVAL_MS, so a swapped symlink and a file "
                                 "changed in place are both seen");
  }
  if (const std::string* dot = get("RUNTIME_IGNOREDOTFILES")) {
    RL_TRY(t.Map("RUNTIME_IGNOREDOTFILES", "LIMITS_IGNORE_DOTFILES", IsTrue(*dot) ? "true"
                                                                                 : "false"));
  }
  if (const std::string* type = get("CONFIG_TYPE"); type && Lower(*type) != "file") {
    if (Lower(*type) != "grpc_xds_sotw") {
      return Status::InvalidArgument("CONFIG_TYPE=" + *type + ": FILE or GRPC_XDS_SOTW");
    }
    const std::string* url = get("CONFIG_GRPC_XDS_SERVER_URL");
    RL_TRY(t.Map("CONFIG_GRPC_XDS_SERVER_URL", "LIMITS_XDS_SERVER",
                 url ? *url : "localhost:18000"));
    if (const std::string* node = get("CONFIG_GRPC_XDS_NODE_ID")) {
      RL_TRY(t.Map("CONFIG_GRPC_XDS_NODE_ID", "LIMITS_XDS_NODE_ID", *node));
    }
    if (const std::string* retry = get("CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL")) {
      auto ms = DurationMs(*retry);
      if (!ms.ok()) {
        return Status::InvalidArgument("CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL: " +
                                       ms.status().message());
      }
      RL_TRY(t.Map("CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL", "LIMITS_XDS_RETRY_MS",
                   std::to_string(std::max<int64_t>(10, ms.value()))));
    }
    if (const std::string* tls = get("CONFIG_GRPC_XDS_SERVER_USE_TLS"); tls && IsTrue(*tls)) {
      return Status::InvalidArgument(
          "CONFIG_GRPC_XDS_SERVER_USE_TLS=true: TLS to the xDS server is not supported yet");
    }
    for (const char* name : {"CONFIG_GRPC_XDS_NODE_METADATA",
                             "CONFIG_GRPC_XDS_CLIENT_ADDITIONAL_HEADERS"}) {
      if (get(name)) t.Note(name, "ignored: the node is sent with its id alone");
    }
  }
  if (const std::string* force = get("FORCE_START_WITHOUT_INITIAL_CONFIG")) {
    RL_TRY(t.Map("FORCE_START_WITHOUT_INITIAL_CONFIG", "LIMITS_XDS_FORCE_START",
                 IsTrue(*force) ? "true" : "false"));
  }
  for (const char* name : {"RESPONSE_DYNAMIC_METADATA", "QUOTA_MODE",
                           "LIMIT_PER_UNIT_HEADERS_ENABLED", "LIMIT_REQUEST_HEADERS_ENABLED"}) {
    if (const std::string* v = get(name); v && IsTrue(*v)) {
      return Status::InvalidArgument(std::string(name) +
                                     "=true: not supported yet (the answers would differ)");
    }
  }
  if (const std::string* merge = get("MERGE_DOMAIN_CONFIG"); merge && IsTrue(*merge)) {
    return Status::InvalidArgument(
        "MERGE_DOMAIN_CONFIG=true: not supported; a domain defined in two files is an error");
  }
  if (const std::string* backend = get("BACKEND_TYPE"); backend && Lower(*backend) != "redis") {
    return Status::InvalidArgument("BACKEND_TYPE=" + *backend + ": only redis is supported");
  }
  // Redis.
  if (const std::string* type = get("REDIS_TYPE")) {
    const std::string v = Lower(*type);
    if (v != "single" && v != "cluster") {
      return Status::InvalidArgument("REDIS_TYPE=" + *type +
                                     ": single or cluster (Sentinel is not supported)");
    }
    RL_TRY(t.Map("REDIS_TYPE", "REDIS_MODE", v == "single" ? "standalone" : "cluster"));
  }
  if (const std::string* socket = get("REDIS_SOCKET_TYPE"); socket && Lower(*socket) != "tcp") {
    return Status::InvalidArgument("REDIS_SOCKET_TYPE=" + *socket + ": only tcp is supported");
  }
  if (const std::string* tls = get("REDIS_TLS"); tls && IsTrue(*tls)) {
    return Status::InvalidArgument("REDIS_TLS=true: TLS to Redis is not supported yet");
  }
  if (const std::string* url = get("REDIS_URL"); url && url->find("://") == std::string::npos) {
    const std::string* auth = get("REDIS_AUTH");
    // The note leaves the password out.
    t.Rewrite("REDIS_URL", RedisUrls(*url, auth),
              "the reference's host:port form, read as redis://" +
                  std::string(auth ? "<REDIS_AUTH>@" : "") + *url);
  } else if (get("REDIS_AUTH")) {
    return Status::InvalidArgument(
        "REDIS_AUTH: set the password in REDIS_URL (redis://user:password@host:port) instead, "
        "or give REDIS_URL in the reference's host:port form");
  }
  if (const std::string* timeout = get("REDIS_TIMEOUT")) {
    auto ms = DurationMs(*timeout);
    if (!ms.ok()) return Status::InvalidArgument("REDIS_TIMEOUT: " + ms.status().message());
    RL_TRY(t.Map("REDIS_TIMEOUT", "REDIS_TIMEOUT_MS",
                 std::to_string(std::max<int64_t>(1, ms.value()))));
  }
  for (const char* name : {"REDIS_POOL_SIZE", "REDIS_PIPELINE_WINDOW", "REDIS_PIPELINE_LIMIT",
                           "REDIS_HEALTH_CHECK_ACTIVE_CONNECTION", "REDIS_POOL_ON_EMPTY_BEHAVIOR"}) {
    if (get(name)) t.Note(name, "ignored: each event loop has one Redis connection and sends "
                                "what a turn decides in one write (pipelined without a window)");
  }
  for (const char* name : {"REDIS_PERSECOND", "REDIS_PERSECOND_URL", "REDIS_PERSECOND_TYPE"}) {
    if (const std::string* v = get(name); v && (std::string(name) != "REDIS_PERSECOND" ||
                                                IsTrue(*v))) {
      return Status::InvalidArgument(std::string(name) +
                                     ": a Redis of its own for per-second limits is not "
                                     "supported; every limit is kept in REDIS_URL");
    }
  }
  // Logs, metrics, health.
  if (const std::string* level = get("LOG_LEVEL")) {
    std::string v = Lower(*level);
    if (v == "warning") v = "warn";
    if (v == "fatal" || v == "panic") v = "error";
    if (v != *level) t.Rewrite("LOG_LEVEL", v, *level + " read as " + v);
  }
  if (const std::string* statsd = get("USE_STATSD"); statsd && IsTrue(*statsd)) {
    t.Note("USE_STATSD", "ignored: no statsd; the same counters are Prometheus metrics at /metrics");
  }
  for (const char* name : {"USE_PROMETHEUS", "PROMETHEUS_ADDR", "PROMETHEUS_PATH"}) {
    if (get(name)) t.Note(name, "ignored: metrics are always at /metrics on the HTTP port (PORT)");
  }
  if (const std::string* bytes = get("LOCAL_CACHE_SIZE_IN_BYTES")) {
    int64_t n = 0;
    const auto [end, error] = std::from_chars(bytes->data(), bytes->data() + bytes->size(), n);
    if (error != std::errc() || end != bytes->data() + bytes->size() || n < 0) {
      return Status::InvalidArgument("LOCAL_CACHE_SIZE_IN_BYTES: \"" + *bytes +
                                     "\" is not a number of bytes");
    }
    // The blocked cache keeps about 128 bytes an entry.
    RL_TRY(t.Map("LOCAL_CACHE_SIZE_IN_BYTES", "BLOCKED_CACHE_ENTRIES", std::to_string(n / 128)));
  }
  if (const std::string* ratio = get("NEAR_LIMIT_RATIO")) {
    RL_TRY(t.Map("NEAR_LIMIT_RATIO", "DESCRIPTOR_NEAR_LIMIT_RATIO", *ratio));
  }
  for (const char* name : {"CACHE_KEY_PREFIX", "EXPIRATION_JITTER_MAX_SECONDS",
                           "GRPC_MAX_CONNECTION_AGE", "GRPC_MAX_CONNECTION_AGE_GRACE"}) {
    if (get(name)) t.Note(name, "ignored: this limiter's keys, expiries and connections are its own");
  }
  if (const std::string* stop = get("STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT")) {
    if (IsTrue(*stop)) {
      return Status::InvalidArgument(
          "STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT=true: not supported yet (every descriptor's "
          "hits are counted, as the reference's default)");
    }
    t.Note("STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT", "false: what this limiter does");
  }
#undef RL_TRY
  return t.Done();
}

}  // namespace rl::limiter
