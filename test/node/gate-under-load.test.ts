// The gate under concurrent keep-alive load (autocannon) against `wrangler dev` with the local legacy
// origin, while the cutover state changes under it: no 5xx but maintenance, no connection errors,
// every response marked with its side, and no request served by a side the state does not allow.
import assert from "node:assert/strict";
import { test } from "node:test";
import autocannon from "autocannon";
import { startStack } from "./stack.ts";

const PORT = 8795;
const TTL_MS = 200;
/** A request sent this long after a change must follow it: one TTL, one coordinator read, and slack for a noisy 2-core VM. */
const SETTLE_MS = TTL_MS + 1_000;
const CONNECTIONS = 48;

interface Seen {
  sentAt: number;
  at: number;
  status: number;
  servedBy: string | null;
  maintenance: boolean;
  connection: number;
}

type Expected = "legacy" | "workers" | "maintenance" | "split";

/** FNV-1a of the bucket cookie's hash is the hash itself: connection i gets hash i·(10000/CONNECTIONS), so half are under 50 %. */
const cookieHash = (connection: number) => Math.floor((connection * 10_000) / CONNECTIONS) + 1;

test("under load, with the state changing, the gate answers no 5xx and never serves a side the state forbids", { timeout: 150_000 }, async () => {
  const stack = await startStack(PORT, { CUTOVER_CACHE_TTL_MS: String(TTL_MS) });
  const { worker } = stack;
  const seen: Seen[] = [];
  // A change may show from when its PATCH is sent (`from`); it must show in what is sent SETTLE_MS after the PATCH returned (`at`).
  const changes: { from: number; at: number; expect: Expected }[] = [];
  const patch = async (body: unknown, expect: Expected) => {
    const from = Date.now();
    await stack.patchCutover(body);
    changes.push({ from, at: Date.now(), expect });
  };
  try {
    changes.push({ from: Date.now(), at: Date.now(), expect: "legacy" });
    let nextConnection = 0;
    const load = autocannon({
      url: `${worker.url}/api/list_cutter/list_saved_files/`,
      connections: CONNECTIONS,
      duration: 14,
      setupClient(client: any) {
        const connection = nextConnection++;
        let sentAt = Date.now();
        client.on("request", () => (sentAt = Date.now()));
        client.setHeaders({ cookie: `lc_bucket=${cookieHash(connection).toString(16).padStart(8, "0")}`, accept: "application/json" });
        client.on("headers", ({ statusCode, headers }: { statusCode: number; headers: string[] }) => {
          const get = (name: string) => {
            for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return headers[i + 1]!;
            return null;
          };
          seen.push({ sentAt, at: Date.now(), status: statusCode, servedBy: get("x-served-by"), maintenance: statusCode === 503 && get("retry-after") !== null, connection });
        });
      },
    });
    // One change every 2 s of the load, however long each PATCH takes under it.
    const schedule: [unknown, Expected][] = [
      [{ percent: 100 }, "workers"],
      [{ percent: 50 }, "split"],
      [{ maintenance: { enabled: true, message: "final sync" } }, "maintenance"],
      [{ maintenance: { enabled: false }, percent: 0, phase: "legacy" }, "legacy"],
      [{ percent: 100 }, "workers"],
    ];
    const loadStarted = changes[0]!.from;
    for (const [k, [body, expect]] of schedule.entries()) {
      await new Promise((r) => setTimeout(r, Math.max(0, loadStarted + 2_000 * (k + 1) - Date.now())));
      await patch(body, expect);
    }
    const result = await load;

    assert.equal(result.errors, 0, "connection errors");
    assert.equal(result.timeouts, 0, "timeouts");
    assert.ok(seen.length > 500, `only ${seen.length} responses`);
    const errors = seen.filter((s) => s.status >= 500 && !s.maintenance);
    assert.deepEqual(errors.slice(0, 5), [], `${errors.length} 5xx answers that are not maintenance`);
    const unmarked = seen.filter((s) => s.servedBy !== "legacy" && s.servedBy !== "workers");
    assert.equal(unmarked.length, 0, "responses without X-Served-By");

    const wrong: Seen[] = [];
    const judged = changes.map(() => 0);
    for (const s of seen) {
      const i = changes.findLastIndex((c) => c.from <= s.at);
      const change = changes[i]!;
      // Answered while a change was being made, or sent within one TTL after it: either state is allowed.
      if (s.at < change.at || (i > 0 && s.sentAt < change.at + SETTLE_MS)) continue;
      judged[i]!++;
      const ok =
        change.expect === "maintenance" ? s.maintenance
        : change.expect === "split" ? !s.maintenance && s.servedBy === (cookieHash(s.connection) % 10_000 < 5_000 ? "workers" : "legacy")
        : !s.maintenance && s.servedBy === change.expect;
      if (!ok) wrong.push(s);
    }
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} responses from a side the state did not allow`);
    // The check above judged answers under every state, not only the ones that came before any change.
    assert.ok(judged.every((n) => n >= 20), `answers judged per state: ${judged.join(", ")}`);
    for (const expect of ["legacy", "workers", "maintenance"] as const) {
      const during = seen.filter((s) => (expect === "maintenance" ? s.maintenance : s.servedBy === expect && !s.maintenance));
      assert.ok(during.length > 50, `too few ${expect} answers: ${during.length}`);
    }
    console.log(`gate under load: ${seen.length} responses (judged per state: ${judged.join(", ")}), ${Math.round(result.requests.average)} req/s, 0 non-maintenance 5xx, 0 connection errors`);
  } finally {
    await stack.stop();
  }
});
