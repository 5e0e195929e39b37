// The dashboard's browser test (ctest browser_test, label browser): against the stack of
// tests/stack (stack.env), it makes traffic through the gateway, loads /dashboard in Debian's
// chromium driven by playwright-core, and checks that the charts have data points and that the
// drill-down shows the counts this test produced. Saves a screenshot beside stack.env
// (dashboard.png, kept as a CI artifact). Also checks that the vendored chart library equals the
// package its lockfile pins (gateway/dashboard).
//   node tests/browser/dashboard_test.mjs <stack.env>
import { chromium } from "playwright-core";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const envFile = process.argv[2];
const env = Object.fromEntries(readFileSync(envFile, "utf8").split("\n")
  .filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
const gateway = env.GATEWAY_URL;
const screenshot = join(dirname(envFile), "dashboard.png");
let failures = 0;

async function step(name, fn) {
  try {
    await fn();
    console.log("ok   " + name);
  } catch (e) {
    failures++;
    console.log("FAIL " + name + "\n     " + String(e.stack || e).split("\n").join("\n     "));
  }
}

async function eventually(what, fn, ms = 30000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try { if (await fn()) return; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("timed out waiting for " + what + (last ? ": " + last : ""));
}

const user = "dash-" + Date.now();
async function check(body) {
  const res = await fetch(gateway + "/check", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return res.status;
}

await step("the vendored uPlot is the locked package's", async () => {
  const modules = join(repo, "gateway", "dashboard", "node_modules", "uplot");
  assert.ok(existsSync(modules), "run npm ci in gateway/dashboard (scripts/setup does)");
  const lock = JSON.parse(readFileSync(join(repo, "gateway", "dashboard", "package-lock.json")));
  const locked = lock.packages["node_modules/uplot"].version;
  assert.equal(JSON.parse(readFileSync(join(modules, "package.json"))).version, locked);
  for (const [vendored, original] of [["uPlot.iife.min.js", "dist/uPlot.iife.min.js"],
    ["uPlot.min.css", "dist/uPlot.min.css"], ["uPlot.LICENSE", "LICENSE"]]) {
    assert.ok(readFileSync(join(repo, "gateway", "dashboard", "vendor", vendored))
      .equals(readFileSync(join(modules, original))), vendored + " differs from uplot@" + locked);
  }
});

// Traffic: the user makes 8 logins (the login rule admits 3) and 2 searches; others add volume.
const statuses = [];
for (let i = 0; i < 8; i++) statuses.push(await check({ user_id: user, action: "login" }));
for (let i = 0; i < 2; i++) statuses.push(await check({ user_id: user, action: "search" }));
for (let i = 0; i < 40; i++) await check({ user_id: "dash-crowd-" + (i % 7), action: "browse" });
const allowed = statuses.filter((s) => s === 200).length;
const blocked = statuses.filter((s) => s === 429).length;
await step("the traffic got its answers", async () => {
  assert.equal(allowed, 5, "3 logins and 2 searches admitted: " + statuses);
  assert.equal(blocked, 5, statuses.join(","));
});
await step("the analytics counted it", () => eventually("the user's analytics", async () => {
  const u = await (await fetch(gateway + "/analytics/" + user)).json();
  return u.total === 10;
}));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(gateway + "/dashboard");

  await step("the page loads its data without errors", async () => {
    await page.waitForSelector("body[data-loaded=true]", { timeout: 20000 });
    assert.deepEqual(errors, []);
  });
  await step("the live chart has data points", async () => {
    await page.waitForFunction(
      () => Number(document.getElementById("rate-chart").dataset.points) > 0, null, { timeout: 20000 });
    const series = await page.evaluate(() => window.dashboard.rateChart.data.length);
    assert.equal(series, 5);  // time, allowed, blocked, shadow blocked, fail open
    assert.ok(await page.$("#rate-chart canvas"), "uPlot drew a canvas");
  });
  await step("the top lists show the user and the login rule", async () => {
    await page.waitForFunction((u) => document.getElementById("top-users").textContent.includes(u),
      user, { timeout: 20000 });
    const rules = await page.textContent("#top-rules");
    assert.match(rules, /login/);
  });
  await step("limiters and workers are listed with their health", async () => {
    await page.waitForFunction(() => document.querySelectorAll("#workers tbody tr").length >= 2,
      null, { timeout: 20000 });
    assert.match(await page.textContent("#limiter-health"), /ok/);
    assert.match(await page.textContent("#workers"), /ok/);
    assert.match(await page.textContent("#lag-total"), /total lag: \d+/);
    // Each limiter's record with its age: a running one renews it every few milliseconds.
    assert.match(await page.textContent("#limiters"), /running/);
    assert.match(await page.textContent("#limiters"), /ms ago|s ago/);
  });
  await step("the drill-down shows this test's counts and a chart of its minutes", async () => {
    await page.fill("#user-id", user);
    await page.click("#user-form button");
    await page.waitForFunction(() => document.getElementById("user-total").textContent === "10",
      null, { timeout: 20000 });
    assert.equal(await page.textContent("#user-allowed"), String(allowed));
    assert.equal(await page.textContent("#user-blocked"), String(blocked));
    assert.match(await page.textContent("#user-rules"), /login: 5 blocked/);
    await page.waitForFunction(
      () => Number(document.getElementById("user-chart").dataset.points) > 0, null, { timeout: 10000 });
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log("screenshot: " + screenshot);
} finally {
  await browser.close();
}
console.log(failures ? failures + " step(s) failed" : "all steps passed");
process.exit(failures ? 1 : 0);
