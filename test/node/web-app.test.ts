/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The end-user web app (web/) in a real browser: Debian's Chromium driven by playwright-core against
// the Worker under `wrangler dev` (./stack.ts) at 100 %, after a full job has migrated the fixture
// corpus. A new user registers, logs in, uploads, cuts, exports (the download is compared with a cut
// computed here from the source rows), saves the cut and a filter, applies the filter to another
// file, manages files and filters, survives an expired access token and logs out; a migrated user
// logs in with their legacy password and downloads a migrated file byte for byte. Along the way:
// every control has an accessible name, the keyboard reaches the main actions, the files page fits
// 375 px, no CSP violation. Screenshots of each page go to docs/screenshots/.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium, type BrowserContext, type Download, type Page } from "playwright-core";
import { STACK_ADMIN_TOKEN, startStack, type Stack } from "./stack.ts";

const PORT = 8803;
const CHROMIUM = "/usr/bin/chromium";
const root = new URL("../..", import.meta.url).pathname;
const SCREENSHOTS = join(root, "docs/screenshots");
const TTL_MS = 1_000;
const EXPORT_SET = "web-app";
const TERMINAL = ["completed", "completed_with_failures", "failed", "cancelled"];
/** Small enough that a test upload can pass it; larger than every corpus file, so the full job copies them all. */
const MAX_FILE_SIZE = 256 * 1024;

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is missing (apt-get install -y chromium); in CI (CI set) this test always runs` : false;

// ── the data, and the cut expected of it, computed here independently of the Worker ─────────

const HEADER = ["id", "name", "city", "amount", "note"];
/** Quoted fields, commas, multi-line cells, cells starting with = + - @, leading spaces, a non-number. */
const FIRST_ROWS: string[][] = [
  ["1", 'Ana "the boss", CEO', "Lisbon", "250", "line one\nline two"],
  ["2", "Bo", "Oslo", "900", "north"],
  ["3", "-Cy", "New York, NY", "120.5", '=HYPERLINK("http://evil.example","click")'],
  ["4", "@dee", "Lisbon", "99", "just below"],
  ["5", "Eve", "Lisbon", "n/a", "not a number"],
  ["6", "Fay", " New York, NY", "+100", "+42"],
  ["7", "Gil", "Lima", "5000", "=1+1"],
  ["8", " Hal", "Lisbon", "1e3", "multi\r\nline, with comma"],
];
const SECOND_ROWS: string[][] = [
  ["10", "Ivo", "Lisbon", "500", "kept"],
  ["11", "Jan", "Oslo", "700", "wrong city"],
  ["12", "Kim", "New York, NY", "50", "too small"],
  ["13", "Lu", "Lisbon", "100", "=SUM(A1:A3)"],
];
const KEPT_COLUMNS = ["name", "amount", "note"];
const MIN_AMOUNT = 100;
const CITIES = ["Lisbon", "New York, NY"];

/** RFC 4180 as a spreadsheet writes it (LF line ends): quotes only where needed. */
function writeCsv(rows: string[][]): string {
  const cell = (c: string) => (/[",\r\n]/.test(c) || /^\s|\s$/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((r) => r.map(cell).join(",")).join("\n") + "\n";
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** The rows the two clauses keep: amount ≥ 100 (numbers only) and city one of CITIES (trimmed text). */
const bigEnough = (r: string[]) => NUMBER.test(r[3]!.trim()) && Number(r[3]!.trim()) >= MIN_AMOUNT;
const passes = (r: string[]) => bigEnough(r) && CITIES.includes(r[2]!.trim());
const pick = (r: string[]) => KEPT_COLUMNS.map((c) => r[HEADER.indexOf(c)]!);
/** src/app/csv-output.ts's rule: text starting = + - @ (or tab/CR) gets a leading ', numbers do not. */
const neutralise = (c: string) => (/^[=+\-@\t\r]/.test(c) && !NUMBER.test(c) ? `'${c}` : c);
/** The export as the API writes it: neutralised cells, quoted when they hold , " CR LF or edge spaces, CRLF line ends. */
function expectedExport(rows: string[][]): string {
  const cell = (c: string) => {
    const safe = neutralise(c);
    return /[",\r\n]/.test(safe) || /^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [KEPT_COLUMNS, ...rows.filter(passes).map(pick)].map((r) => r.map(cell).join(",") + "\r\n").join("");
}

const FIRST_NAME = "contacts, Q4 \"final\".csv";
const SECOND_NAME = "more-contacts.csv";
const FIRST_CSV = writeCsv([HEADER, ...FIRST_ROWS]);
const SECOND_CSV = writeCsv([HEADER, ...SECOND_ROWS]);
const NEW_USER = { username: "web_newcomer", email: "newcomer@web.example", password: "saffron-lattice-8812-orbit" };
const FILTER_NAME = "Lisbon or NYC, 100+";
const RENAMED = "Big Lisbon & NYC";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

// ── browser helpers ──────────────────────────────────────────────────────────────────────────

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** Waits until the live region says `text` (a substring), and returns what it says. */
async function status(page: Page, text: string | RegExp): Promise<string> {
  const region = page.locator("#status");
  try {
    await region.filter({ hasText: text }).waitFor({ timeout: 15_000 });
  } catch {
    assert.fail(`the status region never said ${text}; it says: ${JSON.stringify(await region.textContent())} (at ${page.url()})`);
  }
  return (await region.textContent()) ?? "";
}

/** Waits for the page whose main heading is `name`, and checks that focus moved to it. */
async function landedOn(page: Page, name: string | RegExp, path: RegExp, { focused = true } = {}): Promise<void> {
  await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 15_000 });
  assert.match(new URL(page.url()).pathname, path, `URL after navigating to ${name}`);
  if (focused) assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", `focus moves to the main heading (${name})`);
}

/** Every visible control has an accessible name: by the page's labels, and in Chromium's accessibility tree. */
async function assertControlsNamed(page: Page, where: string): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("input, select, textarea, button")]
      .filter((el) => el.getClientRects().length > 0)
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels;
        const labelled = labels !== null && [...labels].some((l) => (l.textContent ?? "").trim() !== "");
        const aria = (el.getAttribute("aria-label") ?? "").trim() !== "" || el.hasAttribute("aria-labelledby");
        return !(labelled || aria || (el.tagName === "BUTTON" && (el.textContent ?? "").trim() !== ""));
      })
      .map((el) => el.outerHTML.slice(0, 160)),
  );
  assert.deepEqual(unlabelled, [], `${where}: controls without a label`);
  const tree = await page.locator("body").ariaSnapshot();
  const unnamed = tree.split("\n").filter((line) => /^\s*- (textbox|combobox|checkbox|button|spinbutton|radio|searchbox|slider|listbox)( \[[^\]]*\])*:?$/.test(line));
  assert.deepEqual(unnamed, [], `${where}: controls without an accessible name in the accessibility tree:\n${tree}`);
}

/** The page (html and body) is no wider than the window: nothing scrolls sideways but boxes made to. */
async function assertNoSideScroll(page: Page, where: string): Promise<void> {
  const widths = await page.evaluate(() => ({ window: document.documentElement.clientWidth, html: document.documentElement.scrollWidth, body: document.body.scrollWidth }));
  assert.ok(widths.html <= widths.window && widths.body <= widths.window, `at ${widths.window} px ${where} scrolls sideways: ${JSON.stringify(widths)}`);
}

/** Presses Tab until every name in `wanted` has had focus (in any order); returns the names in focus order. */
async function tabThrough(page: Page, wanted: string[], maxTabs = 60): Promise<string[]> {
  const seen: string[] = [];
  const missing = new Set(wanted);
  for (let i = 0; i < maxTabs && missing.size > 0; i++) {
    await page.keyboard.press("Tab");
    const name = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? (el.getAttribute("aria-label") ?? el.textContent ?? "").trim() : "";
    });
    seen.push(name);
    missing.delete(name);
  }
  assert.equal(missing.size, 0, `Tab never reached ${[...missing].join(", ")}; it went through: ${seen.join(" → ")}`);
  return seen;
}

async function downloadBytes(page: Page, click: () => Promise<void>): Promise<{ bytes: Buffer; download: Download }> {
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 15_000 }), click()]);
  const path = await download.path();
  return { bytes: readFileSync(path), download };
}

async function upload(page: Page, name: string, csv: string): Promise<void> {
  await page.getByLabel("CSV file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
}

/** Fills clause `n` (added first with "Add a clause"). */
async function addClause(page: Page, n: number, column: string, operator: string, values: Record<string, string>): Promise<void> {
  await page.getByRole("button", { name: "Add a clause" }).click();
  const clause = page.getByRole("group", { name: `Clause ${n}` });
  await clause.getByLabel("Column").selectOption(column);
  await clause.getByLabel("Operator").selectOption(operator);
  for (const [label, value] of Object.entries(values)) await clause.getByLabel(label, { exact: true }).fill(value);
}

/** The preview table's body cells. */
const previewCells = (page: Page) => page.getByRole("region", { name: "Preview of the cut" }).locator("tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent ?? "")));

// ── the stack ────────────────────────────────────────────────────────────────────────────────

async function migrateCorpus(stack: Stack): Promise<void> {
  const base = stack.worker.url;
  const admin = async (method: string, path: string, body?: string) => {
    const res = await fetch(`${base}/admin${path}`, { method, headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}` }, body });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : null };
  };
  for (const table of ["users", "files", "filters"]) {
    const csv = await (await fetch(`${stack.origin.url}/__exports/${table}.csv`)).text();
    const put = await admin("PUT", `/exports/${EXPORT_SET}/${table}`, csv);
    assert.equal(put.status, 201, `setup: PUT /admin/exports/${EXPORT_SET}/${table}: ${put.text}`);
  }
  const job = await admin("POST", "/jobs", JSON.stringify({ kind: "full", exportSet: EXPORT_SET }));
  assert.equal(job.status, 201, `setup: POST /admin/jobs: ${job.text}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await admin("GET", `/jobs/${job.body.id}`);
    if (TERMINAL.includes(view.body.state)) {
      assert.equal(view.body.state, "completed", `setup: the full job: ${view.text}`);
      return;
    }
    assert.ok(Date.now() < deadline, `setup: the full job did not finish in time: ${view.text}`);
    await sleep(250);
  }
}

test("the web app in Chromium: register, upload, cut, export, filters, files; a migrated user's login and download", { skip, timeout: 170_000 }, async () => {
  assert.ok(existsSync(join(root, "web/dist/app.js")), "web/dist is not built: run `npm run build:web` first (npm test does)");
  mkdirSync(SCREENSHOTS, { recursive: true });
  const stack = await startStack(PORT, { CUTOVER_CACHE_TTL_MS: String(TTL_MS), PASSWORD_ITERATIONS: "20000", MAX_FILE_SIZE: String(MAX_FILE_SIZE) });
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const problems: string[] = [];
  const watch = (context: BrowserContext) => {
    context.on("console", (m) => {
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    context.on("weberror", (e) => problems.push(`page error: ${e.error().message}`));
  };
  try {
    await migrateCorpus(stack);
    await stack.patchCutover({ percent: 100, thresholds: { errorRate: 1, p95Ms: 600_000 } });
    await sleep(TTL_MS + 500);
    const base = stack.worker.url;

    // ── a new user ───────────────────────────────────────────────────────────────────────────
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 860 } });
    watch(context);
    const page = await context.newPage();
    const headers = (await page.goto("/register"))!.headers();
    assert.match(headers["content-security-policy"] ?? "", /script-src 'self'/, "pages carry the CSP");
    await landedOn(page, "Create an account", /^\/register$/, { focused: false });
    await assertControlsNamed(page, "register");
    await shot(page, "register");
    await page.getByLabel("Username").fill(NEW_USER.username);
    await page.getByLabel("Email (optional)").fill(NEW_USER.email);
    await page.getByLabel("Password", { exact: true }).fill(NEW_USER.password);
    await page.getByLabel("Confirm password").fill(`${NEW_USER.password}-typo`);
    await page.getByRole("button", { name: "Create account" }).click();
    await status(page, "Passwords do not match");
    await page.getByLabel("Confirm password").fill(NEW_USER.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await landedOn(page, "Log in", /^\/login$/);
    await status(page, `Account ${NEW_USER.username} created`);
    assert.equal(await page.getByLabel("Username").inputValue(), NEW_USER.username, "the login form has the new username");
    await assertControlsNamed(page, "login");
    await shot(page, "login");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await status(page, "No active account found with the given credentials");
    await page.getByLabel("Password").fill(NEW_USER.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await landedOn(page, "My files", /^\/files$/);
    await page.getByText("No files yet.").waitFor();

    // Upload: a non-CSV and a too-large file are refused in the server's words; then two CSVs.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Upload" }).click();
    await landedOn(page, "Upload a CSV", /^\/upload$/);
    await assertControlsNamed(page, "upload");
    await upload(page, "notes.txt", "just some notes\n");
    await status(page, "Only .csv files are accepted.");
    await upload(page, "huge.csv", "a,b\n" + "1234567,abcdefgh\n".repeat(Math.ceil((MAX_FILE_SIZE + 64 * 1024) / 17)));
    await status(page, "File size exceeds 0.25MB limit.");
    await upload(page, FIRST_NAME, FIRST_CSV);
    await status(page, `Uploaded ${FIRST_NAME}.`);
    const progress = await page.getByLabel("Upload progress").evaluate((p: HTMLProgressElement) => ({ value: p.value, max: p.max }));
    assert.deepEqual(progress, { value: 100, max: 100 }, "the progress bar ends full");
    await shot(page, "upload");
    await upload(page, SECOND_NAME, SECOND_CSV);
    await status(page, `Uploaded ${SECOND_NAME}.`);

    // Cut the first file: keep three columns, two clauses, preview, export.
    await page.getByRole("link", { name: "My files" }).first().click();
    await landedOn(page, "My files", /^\/files$/);
    await page.getByRole("link", { name: `Cut ${FIRST_NAME}` }).click();
    await landedOn(page, `Cut ${FIRST_NAME}`, /^\/files\/[0-9a-f-]{36}\/cut$/);
    await page.locator("#preview-summary", { hasText: `${FIRST_ROWS.length} rows pass.` }).waitFor();
    for (const column of HEADER) if (!KEPT_COLUMNS.includes(column)) await page.getByRole("checkbox", { name: column, exact: true }).uncheck();
    await addClause(page, 1, "amount", ">=", { Number: String(MIN_AMOUNT) });
    await addClause(page, 2, "city", "IN", { Values: `Lisbon, "New York, NY"` });
    await assertControlsNamed(page, "cut");
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    const passing = FIRST_ROWS.filter(passes);
    assert.equal(passing.length, 4, "setup: four rows pass the clauses");
    await page.locator("#preview-summary", { hasText: `${passing.length} rows pass.` }).waitFor();
    assert.deepEqual(await previewCells(page), passing.map(pick).map((r) => r.map(neutralise)), "the preview shows the passing rows as the export holds them");
    await shot(page, "cut");
    const exported = await downloadBytes(page, () => page.getByRole("button", { name: "Export CSV" }).click());
    assert.equal(exported.bytes.toString("utf8"), expectedExport(FIRST_ROWS), "the exported CSV is the cut computed from the source rows");
    assert.match(exported.download.suggestedFilename(), /^contacts, Q4 .final.-cut\.csv$/, "the export is named after the file");

    // Save the cut as a new file, and the settings as a filter.
    await page.getByLabel("File name").fill("cut of contacts.csv");
    await page.getByRole("button", { name: "Save as new file" }).click();
    await status(page, "Saved the cut as cut of contacts.csv.");
    await page.getByLabel("Filter name").fill(FILTER_NAME);
    await page.getByLabel("Description (optional)").fill("amount at least 100, two cities");
    await page.getByRole("button", { name: "Save filter" }).click();
    await status(page, `Saved the filter ${FILTER_NAME}.`);
    // The cut page's own picker has it: drop a clause, then put it back by applying the saved filter.
    await page.getByRole("button", { name: "Remove clause 2" }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Add a clause", "focus after removing a clause");
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    await page.locator("#preview-summary", { hasText: `${FIRST_ROWS.filter(bigEnough).length} rows pass.` }).waitFor();
    await page.getByLabel("Saved filter").selectOption({ label: FILTER_NAME });
    await page.getByRole("button", { name: "Apply filter" }).click();
    await status(page, `Applied the filter ${FILTER_NAME}`);
    await page.locator("#preview-summary", { hasText: `${passing.length} rows pass.` }).waitFor();

    // My files: tags and dates, the saved cut with its own download; tag one, delete another (with confirmation).
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My files" }).click();
    await landedOn(page, "My files", /^\/files$/);
    const savedCut = await downloadBytes(page, () => page.getByRole("button", { name: "Download cut of contacts.csv" }).click());
    assert.equal(savedCut.bytes.toString("utf8"), expectedExport(FIRST_ROWS), "the saved cut downloads as the export");
    await page.getByRole("button", { name: `Add tags ${FIRST_NAME}` }).click();
    const tagDialog = page.getByRole("dialog", { name: `Add tags to ${FIRST_NAME}` });
    await assertControlsNamed(page, "add tags dialog");
    await tagDialog.getByLabel("Tags").fill("clients, q4 review");
    await tagDialog.getByRole("button", { name: "Add tags" }).click();
    await status(page, `Tagged ${FIRST_NAME}: clients, q4 review.`);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), `Add tags ${FIRST_NAME}`, "focus returns to the row's Add tags button");
    const firstRow = page.getByRole("row").filter({ hasText: FIRST_NAME });
    assert.deepEqual(await firstRow.getByRole("listitem").allTextContents(), ["uploaded", "clients", "q4 review"], "the file's tags");
    await firstRow.locator("time").waitFor();
    await page.getByRole("button", { name: "Delete cut of contacts.csv" }).click();
    const confirmDelete = page.getByRole("dialog", { name: "Delete cut of contacts.csv?" });
    await confirmDelete.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("row").filter({ hasText: "cut of contacts.csv" }).waitFor();
    await page.getByRole("button", { name: "Delete cut of contacts.csv" }).click();
    await confirmDelete.getByRole("button", { name: "Delete file" }).click();
    await status(page, "Deleted cut of contacts.csv.");
    assert.equal(await page.getByRole("row").filter({ hasText: "cut of contacts.csv" }).count(), 0, "the deleted file is gone from the list");
    await assertControlsNamed(page, "files");
    await shot(page, "files");

    // The keyboard: from the top of the page, Tab reaches the navigation and every main action; Enter follows a link.
    await page.reload();
    await landedOn(page, "My files", /^\/files$/, { focused: false });
    const order = await tabThrough(page, ["Skip to content", "My files", "Upload", "Saved filters", "Log out", "Upload a CSV", `Cut ${FIRST_NAME}`, `Download ${FIRST_NAME}`, `Add tags ${FIRST_NAME}`, `Delete ${FIRST_NAME}`]);
    assert.ok(order.indexOf("Log out") < order.indexOf("Upload a CSV"), `the header comes before the page's actions: ${order.join(" → ")}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.equal(outline, "solid", "the keyboard focus is visible");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), `Cut ${FIRST_NAME}`);
    await page.keyboard.press("Enter");
    await landedOn(page, `Cut ${FIRST_NAME}`, /\/cut$/);
    await page.goBack();
    await landedOn(page, "My files", /^\/files$/);

    // 375 px wide: no sideways scroll of the page (the table scrolls in its own box).
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole("region", { name: "Your files" }).waitFor();
    await assertNoSideScroll(page, "the files page");
    await shot(page, "files-375");
    await page.setViewportSize({ width: 1280, height: 860 });

    // Saved filters: rename it, apply it to the other file (its preview shows that file's passing rows), delete it.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Saved filters" }).click();
    await landedOn(page, "Saved filters", /^\/filters$/);
    await page.getByRole("row").filter({ hasText: FILTER_NAME }).getByText(`amount >= ${MIN_AMOUNT}; city IN (Lisbon, "New York, NY")`).waitFor();
    await page.getByRole("button", { name: `Rename ${FILTER_NAME}` }).click();
    const renameDialog = page.getByRole("dialog", { name: `Rename ${FILTER_NAME}` });
    await renameDialog.getByLabel("New name").fill(RENAMED);
    await renameDialog.getByRole("button", { name: "Rename", exact: true }).click();
    await status(page, `Renamed ${FILTER_NAME} to ${RENAMED}.`);
    await assertControlsNamed(page, "filters");
    await shot(page, "filters");
    await page.getByRole("button", { name: `Apply ${RENAMED}` }).click();
    const applyDialog = page.getByRole("dialog", { name: `Apply ${RENAMED}` });
    await assertControlsNamed(page, "apply dialog");
    await applyDialog.getByLabel("File").selectOption({ label: SECOND_NAME });
    await applyDialog.getByRole("button", { name: "Apply", exact: true }).click();
    await landedOn(page, `Cut ${SECOND_NAME}`, /\/cut$/);
    const secondPassing = SECOND_ROWS.filter(passes);
    assert.equal(secondPassing.length, 2, "setup: two rows of the second file pass");
    await page.locator("#preview-summary", { hasText: "2 rows pass." }).waitFor();
    await status(page, `Applied the filter ${RENAMED}`);
    assert.deepEqual(await previewCells(page), secondPassing.map(pick).map((r) => r.map(neutralise)), "the saved filter's preview on the other file");
    assert.equal(await page.getByRole("group", { name: "Clause 2" }).getByLabel("Values").inputValue(), `Lisbon, "New York, NY"`, "the saved clause is back in the form");
    await page.setViewportSize({ width: 375, height: 800 });
    await assertNoSideScroll(page, "the cut page");
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Saved filters" }).click();
    await landedOn(page, "Saved filters", /^\/filters$/);
    await page.getByRole("button", { name: `Delete ${RENAMED}` }).click();
    await page.getByRole("dialog", { name: `Delete ${RENAMED}?` }).getByRole("button", { name: "Delete filter" }).click();
    await status(page, `Deleted the filter ${RENAMED}.`);
    await page.getByText("No saved filters yet.").waitFor();

    // An access token that no longer works is renewed once; when the refresh token fails too, back to the login page.
    const firstAccess = await page.evaluate(() => sessionStorage.getItem("lc.access"));
    await page.evaluate(() => sessionStorage.setItem("lc.access", "not-a-token"));
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My files" }).click();
    await landedOn(page, "My files", /^\/files$/);
    await page.getByRole("row").filter({ hasText: SECOND_NAME }).waitFor();
    const renewed = await page.evaluate(() => sessionStorage.getItem("lc.access"));
    assert.ok(renewed && renewed !== "not-a-token" && renewed !== firstAccess, "the access token was refreshed");
    await page.evaluate(() => {
      sessionStorage.setItem("lc.access", "not-a-token");
      sessionStorage.setItem("lc.refresh", "not-a-token-either");
    });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Saved filters" }).click();
    await landedOn(page, "Log in", /^\/login$/);
    await status(page, "Your session has ended. Please log in again.");
    assert.equal(new URL(page.url()).searchParams.get("next"), "/filters", "the login page returns to where the user was");
    await page.getByLabel("Username").fill(NEW_USER.username);
    await page.getByLabel("Password").fill(NEW_USER.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await landedOn(page, "Saved filters", /^\/filters$/);
    // A file that is not the user's, and a path that is no page.
    await page.goto("/files/00000000-0000-4000-8000-000000000000/cut");
    await status(page, "File not found.");
    await page.getByText("This file could not be opened.").waitFor();
    await page.goto("/no/such/page");
    await landedOn(page, "Page not found", /^\/no\/such\/page$/, { focused: false });
    await page.getByRole("button", { name: "Log out" }).click();
    await landedOn(page, "Log in", /^\/login$/);
    await status(page, "You are logged out.");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "logging out clears the tokens");
    await page.goto("/files");
    await landedOn(page, "Log in", /^\/login$/, { focused: false });
    await context.close();

    // ── a migrated user: their legacy password, and a migrated file byte for byte ──────────────
    const file = stack.corpus.files.find((f) => f.fileName.includes('"') && f.size > 0);
    const owner = stack.corpus.users.find((u) => u.id === file?.userId);
    assert.ok(file && owner, "setup: the corpus has a file with a quoted name and its owner");
    const migrated = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 860 } });
    watch(migrated);
    const legacyPage = await migrated.newPage();
    await legacyPage.goto("/files");
    await landedOn(legacyPage, "Log in", /^\/login$/, { focused: false });
    await legacyPage.getByLabel("Username").fill(owner.username);
    await legacyPage.getByLabel("Password").fill(owner.password);
    await legacyPage.getByRole("button", { name: "Log in" }).click();
    await landedOn(legacyPage, "My files", /^\/files$/);
    const migratedRow = legacyPage.getByRole("row").filter({ hasText: file.fileName });
    assert.deepEqual(await migratedRow.getByRole("listitem").allTextContents(), ["imported", `tag ${file.id}`], "the migrated file's tags");
    const fetched = await downloadBytes(legacyPage, () => legacyPage.getByRole("button", { name: `Download ${file.fileName}` }).click());
    assert.equal(fetched.bytes.length, file.size, "the migrated file's size");
    assert.equal(sha256(fetched.bytes), file.sha256, "the migrated file downloads byte for byte (sha256)");
    await migrated.close();

    assert.deepEqual(problems, [], "no page error, console error or CSP violation");
  } finally {
    await browser.close();
    await stack.stop();
  }
});
