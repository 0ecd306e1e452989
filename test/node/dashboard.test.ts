// The operator dashboard in a real browser (Debian's Chromium through playwright-core, never
// `playwright install`) against the Worker under `wrangler dev` (./stack.ts): connect with the token,
// start a job from the page and watch its bar reach 100 %, read a failure whose legacy path holds
// markup (shown as text) and download the failures CSV, move the split to 25 % with the keyboard,
// roll back with a reason and see the audit entry, pause, resume and abort a cutover run; the page
// fits a 375 px phone; no console or page errors. Writes the screenshots in docs/screenshots/.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium, type Browser, type ConsoleMessage, type Locator, type Page } from "playwright-core";
import { CHROMIUM, chromiumOrSkip } from "./chromium.ts";
import { STACK_ADMIN_TOKEN, startStack, type Stack } from "./stack.ts";

const PORT = 8804;
const EXPORT_SET = "dashboard";
/** A clean copy of the export (without the planted row) for the cutover run, whose copy must end without failures. */
const RUN_EXPORT_SET = "dashboard-run";
/** A legacy path holding markup: the item fails as not_found, and the page must show the path as text. */
const MARKUP_PATH = "/app/media/uploads/<b>x</b>.csv";
const SCREENSHOTS = join(new URL("../..", import.meta.url).pathname, "docs/screenshots");
/** Anonymous bucket cookies: at 25 % the first goes to the new app, the others to legacy. */
const BUCKETS = [1, 2_600, 5_100, 7_600];
/** The gate's cutover state cache in the stack (CUTOVER_CACHE_TTL_MS's default). */
const CACHE_TTL_MS = 2_000;

async function admin<T = any>(stack: Stack, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${stack.worker.url}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function uploadExport(stack: Stack, set: string, extraFileRows = ""): Promise<void> {
  for (const table of ["users", "files", "filters"]) {
    const csv = (await (await fetch(`${stack.origin.url}/__exports/${table}.csv`)).text()) + (table === "files" ? extraFileRows : "");
    const res = await fetch(`${stack.worker.url}/admin/exports/${set}/${table}`, { method: "PUT", headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, "content-type": "text/csv" }, body: csv });
    assert.equal(res.status, 201, `setup: PUT ${set}/${table}: ${await res.text()}`);
  }
}

/**
 * Holds one corpus file's download for about 8 s, so the page (polling every 2 s) sees the job
 * part-way. The origin pauses between 16 KiB chunks and a body is complete at its last byte, so the
 * file must span several chunks: the largest one the export lists.
 */
async function slowDownOneFile(stack: Stack): Promise<void> {
  const file = stack.corpus.files.filter((f) => !f.oversize).sort((a, b) => b.size - a.size)[0]!;
  const pauses = Math.ceil(file.size / 16_384) - 1;
  assert.ok(pauses >= 2, `setup: ${file.relativePath} (${file.size} bytes) is too small to slow down`);
  const delayMs = Math.ceil(8_000 / pauses);
  const res = await fetch(`${stack.origin.url}/__faults`, { method: "PUT", body: JSON.stringify([{ match: file.relativePath, kind: "slow", delayMs }]) });
  assert.equal(res.status, 200);
}

/**
 * API calls through the gate, so the charts have something to show (the analysis counts API calls
 * only, and no 4xx): a user of the new app (registered from an address allowlisted for the moment,
 * so always served by the new app) lists their files, and anonymous visitors whose bucket is
 * legacy's call an API path the fixture origin answers 200. Returns its stop.
 */
async function startTraffic(stack: Stack): Promise<() => Promise<void>> {
  const base = stack.worker.url;
  const ip = "203.0.113.250";
  await admin(stack, "/admin/cutover", { method: "PATCH", body: { allowlist: { new: { ips: [ip] } } } });
  await sleep(CACHE_TTL_MS + 500);
  const password = "correct-horse-battery";
  const json = { "content-type": "application/json", "cf-connecting-ip": ip };
  const register = await fetch(`${base}/api/accounts/register/`, { method: "POST", headers: json, body: JSON.stringify({ username: "dash-traffic", email: "dash-traffic@example.com", password, password2: password }) });
  assert.equal(register.status, 201, await register.text());
  const login = await fetch(`${base}/api/accounts/login/`, { method: "POST", headers: json, body: JSON.stringify({ username: "dash-traffic", password }) });
  const { access } = (await login.json()) as { access: string };
  await admin(stack, "/admin/cutover", { method: "PATCH", body: { allowlist: { new: { ips: [] } } } });
  const first = await fetch(`${base}/api/list_cutter/list_saved_files/`, { headers: { authorization: `Bearer ${access}` } });
  assert.deepEqual([first.status, first.headers.get("x-served-by")], [200, "workers"], `the new app's user lists their files: ${await first.text()}`);
  let running = true;
  const cookies = BUCKETS.map((hash) => `lc_bucket=${hash.toString(16).padStart(8, "0")}`);
  const loop = (async () => {
    while (running) {
      const calls = [
        fetch(`${base}/api/list_cutter/list_saved_files/`, { headers: { authorization: `Bearer ${access}` } }),
        ...cookies.map((cookie) => fetch(`${base}/api/traffic/`, { headers: { cookie } })),
      ];
      await Promise.allSettled(calls.map((call) => call.then((r) => r.arrayBuffer())));
      await sleep(200);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

async function waitForText(locator: Locator, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    text = (await locator.textContent({ timeout: 1_000 }).catch(() => null)) ?? "";
    if (pattern.test(text)) return text;
    await sleep(150);
  }
  assert.fail(`${what}: ${JSON.stringify(text)} never matched ${pattern}`);
}

/** The first job card's bar: value (null while indeterminate) and max. */
const jobBar = (page: Page) => page.evaluate(`(() => { const p = document.querySelector("article.job progress"); return p && { value: p.hasAttribute("value") ? p.value : null, max: p.max }; })()`) as Promise<{ value: number | null; max: number } | null>;

async function waitForBar(page: Page, done: (bar: { value: number; max: number }) => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let bar: Awaited<ReturnType<typeof jobBar>> = null;
  while (Date.now() < deadline) {
    bar = await jobBar(page);
    if (bar && bar.value !== null && done({ value: bar.value, max: bar.max })) return;
    await sleep(100);
  }
  assert.fail(`${what}: the bar stayed at ${JSON.stringify(bar)}`);
}

/**
 * A page opened now draws the traffic of the seconds before it was opened: its first render already
 * shows legacy's requests per second above zero at every second the coordinator's series has them,
 * and there are several such seconds from before it opened (how many depends on how often the gate's
 * relay flushed its metrics, which a slow machine spaces out).
 */
async function assertChartsStartWithHistory(browser: Browser, stack: Stack): Promise<void> {
  const fresh = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    const openedAt = Date.now();
    await fresh.goto(`${stack.worker.url}/dashboard`);
    await fresh.getByLabel("Admin token").fill(STACK_ADMIN_TOKEN);
    await fresh.getByRole("button", { name: "Connect" }).click();
    await waitForText(fresh.locator("#trafficSamples"), /^300 points/, "the fresh page's series");
    const points = (await fresh.locator("#charts figure").first().locator(".legacy polyline").first().getAttribute("points")) ?? "";
    const ys = points.split(" ").map((p) => Number(p.split(",")[1]));
    const baseline = Math.max(...ys);
    const busy = ys.filter((y) => y < baseline - 0.5).length;
    const series = await admin<{ backends: { legacy: { t: number; requests: number }[] } }>(stack, "/admin/metrics/series?window=300");
    const before = series.backends.legacy.filter((p) => p.requests > 0 && p.t < openedAt).length;
    assert.ok(before >= 3, `the coordinator's series has legacy traffic at only ${before} seconds before the page opened`);
    assert.ok(busy >= before, `a freshly opened page shows legacy traffic at ${busy} of ${ys.length} points; the series had ${before} busy seconds before it opened`);
  } finally {
    await fresh.close();
  }
}

/** A network 404 for the run while none has been started is the API's answer, not a fault of the page. */
const noRunYet = (m: ConsoleMessage) => /status of 404/.test(m.text()) && m.location().url.endsWith("/admin/cutover/run");

const confirmButton = (page: Page, name: string) => page.locator("dialog#confirm").getByRole("button", { name, exact: true });

test("the dashboard drives a job, the split, a rollback and a run, and shows server text as text", { timeout: 180_000 }, async (t) => {
  if (!chromiumOrSkip(t)) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const stack = await startStack(PORT);
  const stopTraffic = await startTraffic(stack);
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const problems: string[] = [];
  try {
    const planted = `9001,1,${randomUUID()},markup.csv,${MARKUP_PATH},2024-02-03 04:05:06+00,{},{},{}\n`;
    await uploadExport(stack, EXPORT_SET, planted);
    await uploadExport(stack, RUN_EXPORT_SET);
    await slowDownOneFile(stack);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("console", (m) => {
      if (m.type() === "error" && !noRunYet(m)) problems.push(`console: ${m.text()} at ${m.location().url}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${stack.worker.url}/dashboard`);
    await page.getByLabel("Admin token").fill(STACK_ADMIN_TOKEN);
    await page.getByRole("button", { name: "Connect" }).click();
    const fact = (key: string) => page.locator(`[data-fact="${key}"]`);
    // (Two changes already: the traffic's user was registered from an address allowlisted for the moment.)
    await waitForText(fact("phase"), /^legacy \(state v2, .* by admin@/, "phase after connecting");
    await waitForText(page.locator("#runSummary"), /No cutover run has been started/, "the run section without a run");

    // ── a job started from the page, seen part-way, then at 100 % ──
    await page.getByLabel("Export set").fill(EXPORT_SET);
    // One item a message: each is reported on its own, so the slow file does not hold back the others.
    await page.getByLabel("Settings (JSON, optional)").fill('{"batchSize": 1}');
    await page.getByRole("button", { name: "Start job" }).click();
    await waitForText(page.locator("#jobsResult"), /^Started full job [0-9a-f]{8}$/, "the start form's answer");
    const card = page.locator("article.job").first();
    await waitForBar(page, (b) => b.value > 0 && b.value < b.max, "the job part-way", 30_000);
    await waitForText(card.locator(".bar-text"), /^\d{1,2} % of items finished \(\d+ of \d+\)$/, "the bar's label part-way", 2_000);
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-mid-job.png"), fullPage: true });
    await waitForBar(page, (b) => b.value === b.max, "the job at 100 %", 60_000);
    await waitForText(card.locator(".badge"), /^completed_with_failures$/, "the job's state");
    assert.match((await card.locator(".bar-text").textContent()) ?? "", /^100 % of items finished \((\d+) of \1\)$/);
    assert.match((await card.locator(".stats").textContent()) ?? "", /copied of ≥ [\d.]+ (B|KiB) known so far \(estimate\)/);

    // ── the planted failure: its markup is text ──
    await card.locator("details.failures summary").click();
    const pathCell = card.getByRole("cell", { name: MARKUP_PATH, exact: true });
    await pathCell.waitFor({ timeout: 10_000 });
    assert.equal(await pathCell.textContent(), MARKUP_PATH);
    assert.match(await pathCell.innerHTML(), /&lt;b&gt;x&lt;\/b&gt;/);
    assert.equal(await page.locator("b").count(), 0, "no <b> element was created from server data");
    await card.getByLabel("Reason").selectOption("not_found");
    await waitForText(card.locator(".position"), /^1–1 of 1 \(not_found\)$/, "the reason filter");
    assert.equal(await pathCell.count(), 1);
    const [download] = await Promise.all([page.waitForEvent("download"), card.getByRole("button", { name: "Download CSV" }).click()]);
    assert.match(download.suggestedFilename(), /^job-[0-9a-f-]{36}-failures\.csv$/);
    const csv = readFileSync((await download.path())!, "utf8");
    assert.match(csv, /^kind,fileId,table,line,source,reason,detail,attempts\r\n/);
    assert.ok(csv.includes(`${MARKUP_PATH},not_found,HTTP 404`), csv);

    // ── maintenance with a message, on and off; the allowlists (a bad entry refused before asking) ──
    const message = "Final sync <script>alert(1)</script>";
    await page.getByLabel("Maintenance message").fill(message);
    await page.getByRole("button", { name: "Maintenance on…" }).click();
    await confirmButton(page, "Turn maintenance on").click();
    await waitForText(fact("maintenance"), /^ON — “Final sync <script>alert\(1\)<\/script>” \(Retry-After 120 s\)$/, "maintenance on");
    assert.deepEqual((await admin(stack, "/admin/cutover")).maintenance.message, message);
    assert.equal(await page.locator("script").count(), 1, "only the page's own module script");
    await page.getByRole("button", { name: "Maintenance off…" }).click();
    await confirmButton(page, "Turn maintenance off").click();
    await waitForText(fact("maintenance"), /^off$/, "maintenance off");
    await page.getByLabel("New app: user ids").fill("42, x");
    await page.getByRole("button", { name: "Save allowlists…" }).click();
    await waitForText(page.locator("#cutoverResult"), /^"x" is not a user id$/, "a bad user id");
    await page.getByLabel("New app: user ids").fill("42\n43");
    await page.getByLabel("Legacy: IPs").fill("203.0.113.7");
    await page.getByRole("button", { name: "Save allowlists…" }).click();
    await confirmButton(page, "Save allowlists").click();
    await waitForText(fact("allowlist"), /^new: users 42, 43; IPs nonelegacy: users none; IPs 203\.0\.113\.7$/, "the allowlists on the page");
    assert.deepEqual((await admin(stack, "/admin/cutover")).allowlist, { new: { users: [42, 43], ips: [] }, legacy: { users: [], ips: ["203.0.113.7"] } });

    // ── the split, with the keyboard only: Enter opens the dialog, Tab reaches Confirm, Enter confirms ──
    await page.getByLabel("New app share (%)").fill("25");
    await page.getByLabel("New app share (%)").press("Enter");
    await page.locator("dialog#confirm[open]").waitFor();
    await page.keyboard.press("Tab");
    const focused = (await page.evaluate(`(() => { const b = document.activeElement; return { text: b.textContent, outline: getComputedStyle(b).outlineStyle }; })()`)) as { text: string; outline: string };
    assert.deepEqual(focused, { text: "Set 25 %", outline: "solid" }, "the confirm button has the focus, visibly");
    await page.keyboard.press("Enter");
    await waitForText(fact("split"), /^new app 25 % · legacy 75 %$/, "the split on the page");
    const state = await admin(stack, "/admin/cutover");
    assert.equal(state.percent, 25);
    assert.equal(state.phase, "canary");
    await waitForText(fact("phase"), new RegExp(`^${state.phase} \\(state v${state.version},`), "the page agrees with GET /admin/cutover");
    // The new app's user's calls show on the chart.
    await waitForText(page.locator("#charts .latest").first(), /^over the window: new app (0\.\d*[1-9]|[1-9])/, "the new app's requests per second");

    // ── a rollback with a reason (required), and its audit entry ──
    const reason = "dashboard test: 5xx storm <i>seen</i>";
    await page.getByRole("button", { name: "Roll back…" }).click();
    await confirmButton(page, "Roll back").click();
    assert.equal(await page.locator("dialog#confirm[open]").count(), 1, "no rollback without a reason");
    await page.getByLabel("Reason (required)").fill(reason);
    await confirmButton(page, "Roll back").click();
    const entry = page.locator('#auditRows tr[data-action="cutover.rollback"]').first();
    await waitForText(entry, new RegExp(`percent: 25 → 0.*reason: ${reason.replace(/[()]/g, "\\$&")}`), "the rollback in the audit log");
    await waitForText(fact("phase"), /^rolled_back /, "the phase after the rollback");
    assert.equal(await page.locator("i").count(), 0, "the reason's markup is text too");
    assert.equal((await admin(stack, "/admin/cutover")).phase, "rolled_back");
    // The charts: both thresholds, state changes marked, lines drawn from the samples.
    assert.equal(await page.locator("#charts .threshold line").count(), 2);
    await waitForText(page.locator("#trafficSamples"), /^300 points of 1 s each over the last 5 min, to /, "the coordinator's series");
    assert.ok((await page.locator("#charts line.marker").count()) >= 2, "state changes are marked on the charts");
    assert.ok((await page.locator("#charts .legacy polyline").count()) >= 1, "legacy's traffic is drawn");
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-after-rollback.png"), fullPage: true });
    await assertChartsStartWithHistory(browser, stack);

    // ── a phone: nothing wider than the screen ──
    await page.setViewportSize({ width: 375, height: 812 });
    await sleep(2_500);
    assert.ok(((await page.evaluate("document.documentElement.scrollWidth")) as number) <= 375, "no horizontal scrolling at 375 px");
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // ── a cutover run: pause (with a reason), resume, abort from the page ──
    await fetch(`${stack.origin.url}/__faults`, { method: "DELETE" });
    await admin(stack, "/admin/cutover/run", { method: "POST", body: { exportSet: RUN_EXPORT_SET, canary: { steps: [10], holdSeconds: 3_600 } } });
    const runSummary = page.locator("#runSummary");
    const toggle = page.locator("#runToggle");
    await waitForText(runSummary, /· RUNNING · stage (copy|canary)/, "the run on the page");
    assert.equal(await page.locator("#runStages li").count(), 9);
    await toggle.click();
    await page.getByLabel("Reason (optional)").fill("on a call");
    await confirmButton(page, "Pause").click();
    await waitForText(runSummary, /· PAUSED/, "the paused run");
    await waitForText(page.locator("#runAttention"), /^Attention: on a call$/, "the run's attention");
    await waitForText(toggle, /^Resume…$/, "the toggle after pausing");
    await toggle.click();
    await confirmButton(page, "Resume").click();
    await waitForText(runSummary, /· RUNNING/, "the resumed run");
    await page.locator("#runAbort").click();
    await confirmButton(page, "Abort the run").click();
    await waitForText(runSummary, /· ABORTED/, "the aborted run");
    assert.equal((await admin(stack, "/admin/cutover/run")).state, "aborted");
    assert.equal(await page.locator("#runToggle[aria-disabled=true]").count(), 1, "a finished run cannot be paused");

    assert.deepEqual(problems, [], "no console errors and no page errors");
  } finally {
    await browser.close();
    await stopTraffic();
    await stack.stop();
  }
});
