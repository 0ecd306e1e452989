// The dashboard's Alerts panel in a real browser (Debian's Chromium through playwright-core) against
// the Worker under `wrangler dev` (./stack.ts), with a webhook channel posting to a receiver on
// 127.0.0.1: an operator rollback fires `cutover.rollback` (warning) and the page shows it, its
// summary's markup as text; "Send test" reaches the receiver (after failed attempts the page shows
// as retrying) and the test event appears with its delivery; "Resolve…" silences the alert and its
// resolve reaches the receiver. Fits a 375 px phone; no console or page errors, no dialog opened by
// server data. Writes docs/screenshots/dashboard-alerts.png.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { CHROMIUM, chromiumOrSkip } from "./chromium.ts";
import { RECEIVER_SECRET, startAlertReceiver, type Received } from "../alerts/receiver.ts";
import { STACK_ADMIN_TOKEN, startStack, type Stack } from "./stack.ts";

const PORT = 8806;
const SCREENSHOTS = join(new URL("../..", import.meta.url).pathname, "docs/screenshots");
/** The operator's address stands in for who they are (admin/auth.ts): it reaches the alert's summary, markup and all. */
const MARKUP_ACTOR_IP = "<img src=x onerror=alert(1)>";
const SUMMARY = `The cutover was rolled back by admin@${MARKUP_ACTOR_IP}`;
const CHANNEL_NAME = "ops <b>hook</b>";
/** The test event's first attempts the receiver refuses (503). */
const FAILED_TEST_ATTEMPTS = 3;

async function admin<T = any>(stack: Stack, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
  const res = await fetch(`${stack.worker.url}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, "content-type": "application/json", ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function waitFor<T>(read: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await sleep(150);
    value = await read();
  }
  return value;
}

const textOf = async (locator: Locator) => (await locator.textContent({ timeout: 1_000 }).catch(() => null)) ?? "";

const waitForText = (locator: Locator, pattern: RegExp, what: string, timeoutMs = 20_000) => waitFor(() => textOf(locator), (text) => pattern.test(text), `${what} (${pattern})`, timeoutMs);

/** Signed: the receiver checked `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the channel's secret with Node's crypto. */
function assertSigned(r: Received): void {
  assert.equal(r.signatureValid, true, "the HMAC of the body");
  assert.equal(r.eventId, r.body.id);
}

const delivered = (received: Received[], key: string, action: string) => received.filter((r) => r.body.key === key && r.body.action === action && r.status === 200);

test("the dashboard's Alerts panel shows what fires, sends a test and resolves, with server text as text", { timeout: 150_000 }, async (t) => {
  if (!chromiumOrSkip(t)) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The test event's first attempts are refused: the page shows it retrying, then delivered.
  let refused = 0;
  const receiver = await startAlertReceiver((body) => body?.kind === "test" && refused++ < FAILED_TEST_ATTEMPTS);
  const hookUrl = `${receiver.url}/hook`;
  let stack: Stack | null = null;
  let browser: Browser | null = null;
  const problems: string[] = [];
  try {
    stack = await startStack(PORT, { ALERT_ALLOW_HTTP: "true", ALERT_SECRETS_KEY: "dashboard-alerts-test-key-0123456789abcdef", ALERT_RETRY_SECONDS: "1" });

    // ── a webhook channel, then an operator rollback: cutover.rollback fires and reaches the receiver ──
    const channel = await admin(stack, "/admin/alerts/channels", { method: "POST", body: { kind: "webhook", name: CHANNEL_NAME, url: hookUrl, secret: RECEIVER_SECRET, minSeverity: "warning" } });
    await stack.patchCutover({ percent: 10 });
    await admin(stack, "/admin/cutover/rollback", { method: "POST", body: { reason: "dashboard alerts test" }, headers: { "cf-connecting-ip": MARKUP_ACTOR_IP } });
    const { firing } = await waitFor(() => admin(stack!, "/admin/alerts"), (v) => v.firing.length > 0, "an alert firing after the rollback");
    assert.deepEqual(
      firing.map((a: any) => [a.key, a.kind, a.severity, a.state, a.summary]),
      [["cutover.rollback", "cutover.rollback", "warning", "firing", SUMMARY]],
      "an operator rollback fires cutover.rollback (warning), its summary naming the operator's address",
    );
    const [trigger] = await waitFor(() => delivered(receiver.received, "cutover.rollback", "trigger"), (d) => d.length === 1, "the trigger at the receiver");
    assertSigned(trigger!);

    // ── the page: the firing alert, its severity, its summary's markup as text ──
    browser = await chromium.launch({ executablePath: CHROMIUM });
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("console", (m) => {
      if (m.type() === "error" && !(/status of 404/.test(m.text()) && m.location().url.endsWith("/admin/cutover/run"))) problems.push(`console: ${m.text()} at ${m.location().url}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("dialog", (d) => {
      problems.push(`a dialog opened: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${stack.worker.url}/dashboard`);
    await page.getByLabel("Admin token").fill(STACK_ADMIN_TOKEN);
    await page.getByRole("button", { name: "Connect" }).click();

    const panel = page.locator("#alerts");
    const alert = panel.locator('#alertList li[data-key="cutover.rollback"]');
    await waitForText(alert.locator(".state"), /^firing$/, "the firing alert on the page");
    assert.equal(await alert.locator(".sev").textContent(), "warning");
    assert.match((await alert.getAttribute("class")) ?? "", /\bsev-warning\b/);
    assert.equal(await alert.locator(".kind").textContent(), "cutover.rollback");
    assert.equal(await alert.locator(".summary").textContent(), SUMMARY, "the summary, markup and all, as text");
    assert.match(await alert.locator(".summary").innerHTML(), /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.equal(await page.locator("img").count(), 0, "no <img> element was made from server data");
    assert.equal(await page.locator("#alerts b").count(), 0, "nor a <b> from the channel's name");
    assert.equal(await page.locator("#alertsCount").textContent(), " (1 firing)");
    assert.equal(await page.getByRole("link", { name: "Alerts (1 firing)" }).count(), 1);

    // The trigger in the recent events, delivered to the channel (named as text).
    const triggerRow = panel.locator(`#alertEvents tr[data-event="${trigger!.eventId}"]`);
    await waitForText(triggerRow.locator("td.deliveries"), /^ops <b>hook<\/b>: delivered$/, "the trigger's delivery");
    assert.equal(await triggerRow.locator("td.action").textContent(), "trigger");
    assert.equal(await triggerRow.locator("td.key").textContent(), "cutover.rollback", "an alert whose key is its kind is named once");
    assert.equal(await triggerRow.locator("td.summary").textContent(), SUMMARY);
    const channelItem = panel.locator(`#channelList li[data-channel="${channel.id}"]`);
    assert.equal(await channelItem.locator(".name").textContent(), CHANNEL_NAME);
    assert.match((await channelItem.locator(".meta").textContent()) ?? "", new RegExp(`^webhook · ${receiver.url}/… · warning and above · added .* · id ${channel.id}$`));
    assert.match((await panel.locator(".note").last().textContent()) ?? "", /POST \/admin\/alerts\/channels/, "the hint names the API that adds channels");

    // ── "Send test": refused at first (the page shows it retrying), then delivered ──
    await channelItem.getByRole("button", { name: "Send test" }).click();
    await waitForText(channelItem.getByRole("status"), /^Test sent \(event [0-9a-f]{8}\): it shows under Recent events$/, "the test's answer");
    const [firstTry] = await waitFor(() => receiver.received.filter((r) => r.body.kind === "test"), (r) => r.length >= 1, "the test at the receiver");
    assert.equal(firstTry!.body.severity, "info");
    assertSigned(firstTry!);
    const testRow = panel.locator(`#alertEvents tr[data-event="${firstTry!.eventId}"]`);
    await waitForText(testRow.locator("td.deliveries"), /^ops <b>hook<\/b>: retrying: \d+ attempts? so far, last error: HTTP 503$/, "the test retrying on the page");
    await waitForText(testRow.locator("td.deliveries"), new RegExp(`^ops <b>hook</b>: delivered after ${FAILED_TEST_ATTEMPTS + 1} attempts$`), "the test delivered on the page", 30_000);
    assert.equal(receiver.received.filter((r) => r.eventId === firstTry!.eventId).length, FAILED_TEST_ATTEMPTS + 1);
    await waitForText(channelItem.locator(".test-outcome"), new RegExp(`^Test ${firstTry!.body.id.slice(0, 8)}: delivered after ${FAILED_TEST_ATTEMPTS + 1} attempts$`), "the test's outcome beside its channel");
    assert.equal(await testRow.locator("td.key").textContent(), `test · ${firstTry!.body.key}`);

    // ── "Resolve…": confirmed in the dialog, the alert is silenced and its resolve goes out ──
    await alert.getByRole("button", { name: "Resolve…" }).click();
    await page.locator("dialog#confirm[open]").waitFor();
    assert.match((await page.locator("#confirmText").textContent()) ?? "", /^The cutover was rolled back by admin@<img src=x onerror=alert\(1\)> \(cutover\.rollback\)\./);
    await page.locator("dialog#confirm").getByRole("button", { name: "Resolve", exact: true }).click();
    await waitForText(page.locator("#alertsResult"), /^Resolved cutover\.rollback: silenced until its condition clears$/, "the resolve's answer");
    await waitForText(alert.locator(".state"), /^silenced$/, "the alert silenced on the page");
    assert.equal(await alert.getByRole("button", { name: "Resolve…" }).getAttribute("aria-disabled"), "true", "a silenced alert cannot be resolved again");
    await waitForText(page.locator("#alertsCount"), /^$/, "no alert firing in the navigation");
    const [resolve] = await waitFor(() => delivered(receiver.received, "cutover.rollback", "resolve"), (d) => d.length === 1, "the resolve at the receiver");
    assertSigned(resolve!);
    await waitForText(panel.locator(`#alertEvents tr[data-event="${resolve!.eventId}"] td.deliveries`), /^ops <b>hook<\/b>: delivered$/, "the resolve in the recent events");
    assert.deepEqual((await admin(stack, "/admin/alerts")).firing.map((a: any) => a.state), ["silenced"]);
    // Newest first.
    const order = await panel.locator("#alertEvents tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-event")));
    assert.deepEqual(order, [resolve!.eventId, firstTry!.eventId, trigger!.eventId]);
    await panel.screenshot({ path: join(SCREENSHOTS, "dashboard-alerts.png") });

    // ── a phone: the panel's long keys and ids do not widen the page ──
    await page.setViewportSize({ width: 375, height: 812 });
    await sleep(500);
    assert.ok(((await page.evaluate("document.documentElement.scrollWidth")) as number) <= 375, "no horizontal scrolling at 375 px");

    assert.deepEqual(problems, [], "no console errors, no page errors, no dialogs");
  } finally {
    await browser?.close();
    await stack?.stop();
    await receiver.close();
  }
});
