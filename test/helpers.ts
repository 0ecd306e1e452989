import { inject } from "vitest";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { coordinator, COORDINATOR_NAME } from "../src/env";
import { relay, relayShards } from "../src/relay/shards";
import type { MigrationCoordinator } from "../src/coordinator/coordinator";
import type { JobView } from "../src/coordinator/model";
import type { Corpus } from "./legacy-origin/corpus";
import type { FaultRule, OriginStats } from "./legacy-origin/server";
import { TEST_ADMIN_TOKEN, TEST_CUTOVER_TTL_MS } from "./config";

export const originUrl = inject("legacyOrigin");

/** A request to the Worker under test, through its real fetch handler. */
export function worker(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://list-cutter.test${path}`, init));
}

/** An authenticated operator request. */
export function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${TEST_ADMIN_TOKEN}`);
  return worker(path, { ...init, headers });
}

export async function adminJson<T = any>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await admin(path, init);
  return { status: res.status, body: (await res.json()) as T };
}

export function postJson(path: string, body: unknown): Promise<{ status: number; body: any }> {
  return adminJson(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}

/** A coordinator instance of the test's own, so that no other test's state reaches it. */
export function ownCoordinator(label: string) {
  return coordinator(env, `${label}-${crypto.randomUUID()}`);
}

/**
 * Empties the "primary" coordinator (storage and alarm) and evicts it, so that the next call finds it
 * as on a first deploy. For tests that must go through the Worker, which always uses "primary".
 */
export async function resetPrimaryCoordinator(): Promise<void> {
  const stub = coordinator(env);
  await runInDurableObject(stub, async (_instance, state) => {
    await state.storage.deleteAlarm();
    await state.storage.deleteAll();
  });
  await evictDurableObject(stub);
  // The relays take the wiped coordinator's state (its new epoch) at once, instead of serving the old one for up to RELAY_REFRESH_MS.
  const snapshot = await stub.relaySnapshot();
  for (let shard = 0; shard < relayShards(env); shard++) await relay(env, shard, COORDINATOR_NAME).push(snapshot);
}

/**
 * Runs `change` inside the coordinator with every other event held back (its own alarm included), then
 * removes the alarm the change set, so that only the test drives the object. Without the hold, an
 * alarm a change sets for now may run a step of its own while the change awaits D1. For a test's own
 * coordinator (`ownCoordinator`): the primary's validation stage calls itself, which the hold would stall.
 */
export async function changeByHand<T>(stub: DurableObjectStub<MigrationCoordinator>, change: (instance: MigrationCoordinator, state: DurableObjectState) => Promise<T>): Promise<T> {
  // A throw inside blockConcurrencyWhile resets the object and loses the error: it is carried out instead.
  const outcome = await runInDurableObject(stub, (instance: MigrationCoordinator, state) =>
    state.blockConcurrencyWhile(async () => {
      try {
        return { ok: true as const, value: await change(instance, state) };
      } catch (error) {
        return { ok: false as const, error };
      } finally {
        await state.storage.deleteAlarm();
      }
    }),
  );
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Runs the coordinator's alarm handler once and returns the alarm it set, removed at once so that only the test drives the object. */
export function wakeByHand(stub: DurableObjectStub<MigrationCoordinator>): Promise<number | null> {
  return changeByHand(stub, async (instance, state) => {
    await instance.alarm();
    return state.storage.getAlarm();
  });
}

/** A job as the coordinator's RPC shows it. */
export async function jobOf(stub: DurableObjectStub<MigrationCoordinator>, id: string): Promise<JobView> {
  const outcome = await stub.getJob(id);
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.value;
}

export async function corpus(): Promise<Corpus> {
  return (await fetch(`${originUrl}/__corpus`)).json();
}

/** Uploads an export table through the operator API. */
export async function putExport(set: string, table: string, csv: string): Promise<Response> {
  return admin(`/admin/exports/${set}/${table}`, { method: "PUT", body: csv, headers: { "content-type": "text/csv" } });
}

/**
 * Uploads the fixture origin's exports (`files`: main = within the size limit, all = with the
 * oversize one; `extras`: with the files added by addLegacyFiles).
 */
export async function uploadCorpusExports(set: string, files: "main" | "all" = "main", extras = false): Promise<void> {
  for (const table of ["users", "files", "filters"]) {
    const csv = await (await fetch(`${originUrl}/__exports/${table}.csv?files=${files}${extras ? "&extras=1" : ""}`)).text();
    const res = await putExport(set, table, csv);
    if (res.status !== 201) throw new Error(`upload of ${table} failed: ${res.status} ${await res.text()}`);
  }
}

/** Adds `count` small files to the legacy side (disk and database), as its users would while both sides are live. */
export async function addLegacyFiles(count: number): Promise<Corpus["files"]> {
  const res = await fetch(`${originUrl}/__extra-files`, { method: "POST", body: JSON.stringify({ count }) });
  return ((await res.json()) as { added: Corpus["files"] }).added;
}

export async function clearLegacyFiles(): Promise<void> {
  await fetch(`${originUrl}/__extra-files`, { method: "DELETE" });
}

export async function setFaults(rules: FaultRule[]): Promise<void> {
  await fetch(`${originUrl}/__faults`, { method: "PUT", body: JSON.stringify(rules) });
}

export async function clearFaults(): Promise<void> {
  await fetch(`${originUrl}/__faults`, { method: "DELETE" });
}

export async function originStats(): Promise<OriginStats> {
  return (await fetch(`${originUrl}/__stats`)).json();
}

export async function resetOriginStats(): Promise<void> {
  await fetch(`${originUrl}/__stats`, { method: "DELETE" });
}

export async function startJob(body: Record<string, unknown>): Promise<string> {
  const res = await postJson("/admin/jobs", body);
  if (res.status !== 201) throw new Error(`job not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/**
 * Reads `read()` every `everyMs` until `until` holds for what it read, and returns that; fails after
 * `timeoutMs` naming `what` and the last reading. For state that becomes true later than the signal a
 * test saw (a queue consumer's report, an alarm step's audit entry).
 */
export async function eventually<T>(what: string, read: () => Promise<T>, until: (value: T) => boolean, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value)) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not as expected after ${timeoutMs} ms; last seen: ${JSON.stringify(value, null, 1)?.slice(0, 4_000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const TERMINAL = ["completed", "completed_with_failures", "failed", "cancelled"];

/** Polls the job until `until` holds (default: a terminal state), or fails after `timeoutMs`. */
export function waitForJob(id: string, until: (job: JobView) => boolean = (j) => TERMINAL.includes(j.state), timeoutMs = 45_000): Promise<JobView> {
  return eventually(`job ${id}`, async () => (await adminJson<JobView>(`/admin/jobs/${id}`)).body, until, timeoutMs);
}

type AuditRow = { action: string; actor: string; target: string | null; details: Record<string, unknown> };

/**
 * The D1 audit rows whose action matches `actionLike` (SQL LIKE), oldest first, once `until` holds.
 * The coordinator writes an entry with its change and pushes it to D1 after the step that made it:
 * a test that saw the change through the API may read D1 before the entry has arrived.
 */
export function waitForAudit(actionLike: string, until: (rows: AuditRow[]) => boolean, timeoutMs = 15_000): Promise<AuditRow[]> {
  const read = async () => {
    const { results } = await env.DB.prepare(`SELECT action, actor, target, details FROM audit_logs WHERE action LIKE ? ORDER BY rowid`)
      .bind(actionLike)
      .all<Omit<AuditRow, "details"> & { details: string }>();
    return results.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  };
  return eventually(`audit rows '${actionLike}'`, read, until, timeoutMs);
}

export async function sha256Hex(stream: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  await stream.pipeTo(digest);
  return [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const fastRetries = { retryBaseMs: 50, retryMaxMs: 200, leaseSeconds: 30, fetchTimeoutMs: 5_000 };

export function patchCutover(body: unknown): Promise<{ status: number; body: any }> {
  return adminJson("/admin/cutover", { method: "PATCH", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}

/** Waits out the gate's state cache, so that the next request sees the latest cutover state. */
export async function afterCacheTtl(): Promise<void> {
  await new Promise((r) => setTimeout(r, TEST_CUTOVER_TTL_MS + 50));
}

/** A request straight to the new app (bypassing the gate, whatever the cutover state). */
export async function api(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const { app } = await import("../src/app");
  const { createExecutionContext } = await import("cloudflare:test");
  const { env } = await import("cloudflare:workers");
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  return app(new Request(`https://list-cutter.test${path}`, { ...init, headers }), env, createExecutionContext());
}

export async function apiJson(path: string, body: unknown, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await api(path, { method: "POST", ...init, body: JSON.stringify(body), headers: { "content-type": "application/json", ...(init.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Registers (if needed) and logs in a user of the new app; returns its tokens. */
export async function newUser(username: string, password = "correct-horse-battery"): Promise<{ access: string; refresh: string; id: number }> {
  await apiJson("/api/accounts/register/", { username, email: `${username}@example.com`, password, password2: password });
  const { body } = await apiJson("/api/accounts/login/", { username, password });
  const me = await (await api("/api/accounts/user/", { token: body.access })).json<{ id: number }>();
  return { ...body, id: me.id };
}

export function csvForm(name: string, content: string | Blob, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", typeof content === "string" ? new Blob([content], { type: "text/csv" }) : content, name);
  return form;
}
