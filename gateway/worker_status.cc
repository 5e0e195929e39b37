#include "gateway/worker_status.h"

#include <httplib.h>

#include "gateway/limiter_pool.h"

namespace rl::gateway {

std::vector<WorkerStatus> FetchWorkerStatus(const std::vector<std::string>& urls, int timeout_ms) {
  std::vector<WorkerStatus> out;
  for (const auto& configured : urls) {
    std::vector<std::string> resolved = ResolveUrl(configured);
    if (resolved.empty()) resolved.push_back(configured);  // reported as not answering
    for (const auto& url : resolved) {
      WorkerStatus status;
      status.url = url;
      httplib::Client client(url);
      client.set_connection_timeout(0, timeout_ms * 1000);
      client.set_read_timeout(0, timeout_ms * 1000);
      auto res = client.Get("/health");
      if (!res) {
        status.error = httplib::to_string(res.error());
      } else {
        status.ok = res->status == 200;
        status.health = nlohmann::json::parse(res->body, nullptr, false);
        if (status.health.is_discarded()) status.health = nullptr;
        if (!status.ok) status.error = "GET /health answered " + std::to_string(res->status);
      }
      out.push_back(std::move(status));
    }
  }
  return out;
}

nlohmann::json WorkersJson(const std::vector<WorkerStatus>& workers) {
  nlohmann::json list = nlohmann::json::array();
  int64_t owned_lag = 0;  // summed over the partitions each worker owns
  nlohmann::json group;   // the group as the first worker that reached the brokers measured it
  bool healthy = !workers.empty();
  for (const auto& w : workers) {
    nlohmann::json entry = {{"url", w.url}, {"ok", w.ok}};
    if (!w.error.empty()) entry["error"] = w.error;
    const nlohmann::json& h = w.health;
    entry["assigned_partitions"] = h.is_object() ? h.value("assigned_partitions", 0) : 0;
    nlohmann::json partitions = nlohmann::json::array();
    if (h.is_object() && h.contains("partitions") && h["partitions"].is_array()) {
      for (const auto& p : h["partitions"]) {
        if (!p.is_object()) continue;
        const int64_t lag = p.value("lag", int64_t{0});
        partitions.push_back({{"partition", p.value("partition", -1)}, {"lag", lag}});
        owned_lag += lag;
      }
    }
    entry["partitions"] = partitions;
    entry["redis_ok"] = h.is_object() && h.contains("redis") && h["redis"].is_object() &&
                        h["redis"].value("ok", false);
    entry["status"] = h.is_object() ? h.value("status", "unknown") : "down";
    healthy = healthy && w.ok && entry["status"] == "ok";
    if (h.is_object() && h.contains("group") && h["group"].is_object()) {
      entry["group"] = h["group"];
      if (group.is_null() && h["group"].value("reachable", false)) group = h["group"];
    }
    list.push_back(entry);
  }
  // The group's lag counts every partition, whoever owns it (none, or a worker that died before
  // the group noticed); without any measurement, what the workers own.
  const int64_t total_lag = group.is_object() ? group.value("total_lag", owned_lag) : owned_lag;
  // No worker reached the brokers: the group's state is unknown, which is not healthy.
  const bool measured = group.is_object();
  nlohmann::json out = {{"workers", list},
                        {"total_lag", total_lag},
                        {"healthy", healthy && measured},
                        {"group_measured", measured}};
  out["unowned_partitions"] =
      group.is_object() ? group.value("unowned", nlohmann::json::array()) : nlohmann::json::array();
  out["stalled_partitions"] =
      group.is_object() ? group.value("stalled", nlohmann::json::array()) : nlohmann::json::array();
  return out;
}

}  // namespace rl::gateway
