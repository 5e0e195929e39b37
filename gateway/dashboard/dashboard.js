// The gateway's live dashboard: polls the gateway's /analytics endpoints every 2 s and draws them
// with uPlot (vendored, served by the gateway). No build step, no dependency beyond uPlot.
"use strict";

const POLL_MS = 2000;
const SERIES_SECONDS = 300;
const state = { token: sessionStorage.getItem("rl-analytics-token") || "", user: "" };
const $ = (id) => document.getElementById(id);

// GET a gateway endpoint as JSON, with the analytics token when one is set.
async function get(path) {
  const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
  const res = await fetch(path, { headers });
  if (res.status === 401) {
    $("token-form").hidden = false;
    throw new Error("the gateway needs ANALYTICS_TOKEN");
  }
  if (!res.ok && res.status !== 503) throw new Error(path + " answered " + res.status);
  return res.json();
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fillTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

// One uPlot chart in `el`, replaced in place when data arrive.
function makeChart(el, series) {
  const opts = {
    width: Math.max(300, el.clientWidth || 600),
    height: 220,
    scales: { x: { time: true } },
    series: [{}].concat(series.map(([label, stroke]) => ({ label, stroke, width: 2 }))),
    // At least 90 px between time labels: "12:34:56" never overlaps its neighbour.
    axes: [{ space: 90 }, { size: 60 }],
  };
  const data = [[]].concat(series.map(() => []));
  return new uPlot(opts, data, el);
}

const rateSeries = [
  ["allowed", "#16803c"], ["blocked", "#c0262d"], ["shadow blocked", "#b7791f"],
  ["fail open", "#6b46c1"],
];
const rateChart = makeChart($("rate-chart"), rateSeries);
const userChart = makeChart($("user-chart"), [["allowed", "#16803c"], ["blocked", "#c0262d"]]);
window.dashboard = { rateChart, userChart };  // for the browser test and curious people

function countPoints(data) {
  let n = 0;
  for (let s = 1; s < data.length; s++) for (const v of data[s]) if (v > 0) n++;
  return n;
}

async function refreshRate() {
  const { seconds } = await get("/analytics/series?seconds=" + SERIES_SECONDS);
  const outcome = (s, name) => (s.by_outcome && s.by_outcome[name]) || 0;
  const data = [
    seconds.map((s) => s.epoch_s),
    seconds.map((s) => outcome(s, "allowed") + outcome(s, "allowlisted")),
    seconds.map((s) => s.blocked),
    seconds.map((s) => outcome(s, "shadow_blocked")),
    seconds.map((s) => outcome(s, "fail_open")),
  ];
  rateChart.setData(data);
  $("rate-chart").dataset.points = countPoints(data);
  const sum = (i) => data[i].reduce((a, b) => a + b, 0);
  const last10 = seconds.slice(-10).reduce((a, s) => a + s.total, 0) / 10;
  $("totals").replaceChildren(...[
    ["decisions/s (last 10 s)", last10.toFixed(1)], ["allowed", sum(1)], ["blocked", sum(2)],
    ["shadow blocked", sum(3)], ["fail open", sum(4)],
  ].map(([label, value]) => {
    const div = document.createElement("div");
    const b = document.createElement("b");
    b.textContent = value;
    div.append(b, label);
    return div;
  }));
}

function userLink(id) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.className = "user";
  a.textContent = id;
  a.onclick = () => { $("user-id").value = id; showUser(id); };
  td.append(a);
  return td;
}

async function refreshTop() {
  const [users, rules] = await Promise.all([
    get("/analytics/top?by=blocked&limit=10"), get("/analytics/top?by=rule&limit=10")]);
  fillTable("top-users", users.users.map((u) => [userLink(u.user_id), cell(u.blocked, "num")]));
  fillTable("top-rules", rules.rules.map((r) => [cell(r.rule), cell(r.blocked, "num")]));
}

// "850 ms ago", "12 s ago", "3 min ago".
function ageText(ms) {
  if (ms < 1000) return ms + " ms ago";
  if (ms < 120000) return Math.round(ms / 1000) + " s ago";
  return Math.round(ms / 60000) + " min ago";
}

async function refreshServices() {
  const [health, ledger, workers] = await Promise.all([
    get("/health"), get("/analytics/limiters"), get("/analytics/workers")]);
  fillTable("limiter-health", (health.limiters || []).map((l) => [
    cell(l.url), cell(l.ok ? "ok" : "down", l.ok ? "ok" : "bad")]));
  // A "stale" limiter stopped renewing its record while "running": it died.
  fillTable("limiters", ledger.limiters.map((l) => [
    cell(l.limiter_id),
    cell(l.state, l.state === "running" ? "ok" : l.state === "stale" ? "bad" : ""),
    cell(l.record_age_ms == null ? "never" : ageText(l.record_age_ms), l.state === "stale" ? "bad" : ""),
    cell(l.decided, "num"), cell(l.missing, l.missing > 0 ? "num bad" : "num")]));
  // "degraded": the worker serves, but the group's analytics are not progressing.
  fillTable("workers", workers.workers.map((w) => {
    const status = w.ok ? (w.status || "ok") : (w.error || "down");
    return [cell(w.url), cell(status, status === "ok" ? "ok" : "bad"),
      cell(w.partitions.map((p) => p.partition + ": " + p.lag).join(", ") || "none")];
  }));
  // The group's lag: every partition, whoever owns it.
  const unowned = workers.unowned_partitions || [], stalled = workers.stalled_partitions || [];
  $("lag-total").textContent = "total lag: " + workers.total_lag + " events" +
    (unowned.length ? ", unowned partitions: " + unowned.join(", ") : "") +
    (stalled.length ? ", stalled partitions: " + stalled.join(", ") : "");
  $("lag-total").className = unowned.length || stalled.length ? "bad" : "";
}

async function showUser(id) {
  state.user = id;
  const u = await get("/analytics/" + encodeURIComponent(id));
  $("user-details").hidden = false;
  $("user-total").textContent = u.total;
  $("user-allowed").textContent = u.allowed;
  $("user-blocked").textContent = u.blocked;
  // Enforced refusals per rule; shadow rules (which refused nothing) on a line of their own.
  const refusals = (keep) => Object.entries(u.by_rule || {})
    .map(([rule, o]) => [rule, Object.entries(o).filter(([k]) => keep(k))])
    .filter(([, counts]) => counts.length)
    .map(([rule, counts]) => rule + ": " + counts.map(([k, n]) => n + " " + k).join(", "))
    .join("; ");
  $("user-rules").textContent = refusals((k) => k !== "shadow_blocked") || "none";
  $("user-shadow").textContent = refusals((k) => k === "shadow_blocked") || "none";
  // The last 60 minutes, every minute present.
  const now = Math.floor(Date.now() / 60000) * 60;
  const byMinute = new Map(u.last_minutes.map((m) => [m.minute_epoch_s, m]));
  const xs = [], allowed = [], blocked = [];
  for (let t = now - 59 * 60; t <= now; t += 60) {
    const m = byMinute.get(t);
    xs.push(t);
    allowed.push(m ? m.allowed : 0);
    blocked.push(m ? m.blocked : 0);
  }
  const data = [xs, allowed, blocked];
  userChart.setSize({ width: Math.max(300, $("user-chart").clientWidth || 600), height: 220 });
  userChart.setData(data);
  $("user-chart").dataset.points = countPoints(data);
}

async function refresh() {
  try {
    await Promise.all([refreshRate(), refreshTop(), refreshServices()]);
    if (state.user) await showUser(state.user);
    $("status").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("status").textContent = String(e.message || e);
  }
}

$("user-form").onsubmit = (e) => {
  e.preventDefault();
  showUser($("user-id").value.trim()).catch((err) => { $("status").textContent = err.message; });
};
$("token-form").onsubmit = (e) => {
  e.preventDefault();
  state.token = $("token").value;
  sessionStorage.setItem("rl-analytics-token", state.token);
  $("token-form").hidden = true;
  refresh();
};
refresh();
setInterval(refresh, POLL_MS);
