#include "tools/rlctl/health_report.h"

namespace rl::rlctl {

using nlohmann::json;

HealthVerdict JudgeHealth(const HealthAnswers& answers) {
  const Answer& gateway = answers.gateway;
  const std::optional<Answer>& workers = answers.workers;
  const std::optional<Answer>& ledger = answers.ledger;
  size_t next_limiter = 0;
  std::vector<std::vector<std::string>> rows;
  bool healthy = gateway.status == 200;
  json report = {{"gateway", {{"url", answers.gateway_url}, {"ok", gateway.status == 200}}},
                 {"limiters", json::array()},
                 {"workers", json::array()}};
  rows.push_back({"gateway", answers.gateway_url, gateway.status == 200 ? "ok" : "down", ""});
  const json& analytics = gateway.body.value("analytics_redis", json::object());
  rows.push_back({"analytics redis", "", analytics.value("ok", false) ? "ok" : "down", ""});
  healthy = healthy && analytics.value("ok", false);
  for (const auto& l : gateway.body.value("limiters", json::array())) {
    const bool ok = l.value("ok", false);
    healthy = healthy && ok;
    // The limiter's own health: its Redis and its Kafka broker.
    std::string detail;
    json entry = l;
    const std::optional<Answer>& own =
        next_limiter < answers.limiters.size() ? answers.limiters[next_limiter] : std::nullopt;
    ++next_limiter;
    if (own) {
      entry["health"] = own->body;
      const json& b = own->body;
      const json redis = b.value("redis", json::object());
      const json kafka = b.value("kafka", json::object());
      healthy = healthy && redis.value("ok", false) && kafka.value("ok", false);  // degraded too
      detail = std::string("redis ") + (redis.value("ok", false) ? "ok" : "down") + ", kafka " +
               (kafka.value("ok", false) ? "ok" : "down") + ", events queued " +
               Str(kafka.value("queued_events", json()));
    }
    rows.push_back({"limiter", Str(l["url"]), ok ? "ok" : "down", detail});
    report["limiters"].push_back(entry);
  }
  if (!workers || workers->status != 200) {
    healthy = false;
    rows.push_back({"workers", "", "unknown", workers ? ErrorOf(*workers) : answers.workers_error});
  } else {
    for (const auto& w : workers->body.value("workers", json::array())) {
      // "degraded": the worker serves, but the group's analytics are not progressing.
      const std::string status = w.value("status", w.value("ok", false) ? "ok" : "down");
      healthy = healthy && w.value("ok", false) && status == "ok";
      int64_t lag = 0;
      for (const auto& p : w.value("partitions", json::array())) lag += p.value("lag", 0);
      std::string detail =
          "partitions " + Str(w["assigned_partitions"]) + ", lag " + std::to_string(lag);
      const json group = w.value("group", json::object());
      if (group.contains("error")) detail += "; group: " + Str(group["error"]);
      rows.push_back({"worker", Str(w["url"]), status, detail});
      report["workers"].push_back(w);
    }
    // The group as a whole: every partition's lag, whoever owns it.
    const json& body = workers->body;
    const auto unowned = body.value("unowned_partitions", json::array());
    const auto stalled = body.value("stalled_partitions", json::array());
    const bool measured = body.value("group_measured", true);
    const bool group_ok = measured && unowned.empty() && stalled.empty();
    healthy = healthy && group_ok;
    rows.push_back({"consumer group", "", !measured ? "unknown" : group_ok ? "ok" : "degraded",
                    "total lag " + Str(body.value("total_lag", json(0))) + ", unowned " +
                        unowned.dump() + ", stalled " + stalled.dump()});
    report["group"] = {{"total_lag", body.value("total_lag", json(0))},
                       {"unowned_partitions", unowned},
                       {"stalled_partitions", stalled}};
  }
  // Limiters as their ledger records say: one that died keeps a "running" record that stopped
  // ageing ("stale"); it counts against health for an hour, then is shown as gone.
  if (ledger && ledger->status == 200) {
    for (const auto& r : ledger->body.value("limiters", json::array())) {
      const std::string state = r.value("state", "unknown");
      if (state != "stale") continue;
      const int64_t age_ms =
          r["record_age_ms"].is_number() ? r["record_age_ms"].get<int64_t>() : 0;
      const bool recent = age_ms < kStaleCountsForMs;
      healthy = healthy && !recent;
      rows.push_back({"limiter record", Str(r["limiter_id"]), recent ? "stale" : "gone",
                      "no progress recorded for " + std::to_string(age_ms / 1000) + " s"});
      report["stale_limiters"].push_back(r);
    }
  }
  report["healthy"] = healthy;
  return {healthy, std::move(report), std::move(rows)};
}

}  // namespace rl::rlctl
