// The alert store's dedup, over generated sequences of "what holds now": a condition triggers once when
// it starts, resolves once when it ends, a silenced one stays quiet until it clears, and every event is
// queued for each channel that wants its severity.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Condition } from "../../src/alerts/model";
import { AlertStore } from "../../src/alerts/store";

const KEYS = ["a", "b", "c"] as const;
const condition = (key: string, severity: Condition["severity"]): Condition => ({ key, kind: "job.failed", severity, summary: `about ${key}`, details: { key } });

describe("the alert store", () => {
  it("makes exactly one trigger per start and one resolve per end of each condition", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(`alerts-fire-once-${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (_i, state) => {
      const store = new AlertStore(state.storage.sql);
      store.addChannel({ id: "00000000-0000-4000-8000-00000000000c", kind: "webhook", name: "critical only", target: "https://example.com", sealed: "x", minSeverity: "critical", createdAt: 0 });
      store.addChannel({ id: "00000000-0000-4000-8000-00000000000w", kind: "webhook", name: "warnings", target: "https://example.com", sealed: "x", minSeverity: "warning", createdAt: 1 });
      fc.assert(
        fc.property(
          fc.array(fc.record({ holding: fc.subarray([...KEYS]), silence: fc.option(fc.constantFrom(...KEYS), { nil: undefined }), severity: fc.constantFrom("warning" as const, "critical" as const) }), { maxLength: 25 }),
          (steps) => {
            // A fresh namespace of keys per run, after the last run's conditions have ended: the store keeps its rows across runs.
            store.reconcile([], -1);
            const run = crypto.randomUUID().slice(0, 8);
            const firing = new Map<string, "firing" | "silenced">();
            const expected: string[] = [];
            const made: string[] = [];
            steps.forEach((step, t) => {
              const holding = step.holding.map((k) => condition(`${run}:${k}`, step.severity));
              // Within one step the order of events does not matter: each step's are compared sorted.
              const due: string[] = [];
              for (const c of holding) if (!firing.has(c.key)) (firing.set(c.key, "firing"), due.push(`trigger ${c.key}`));
              for (const [key, mode] of [...firing]) {
                if (holding.some((c) => c.key === key)) continue;
                firing.delete(key);
                if (mode === "firing") due.push(`resolve ${key}`);
              }
              expected.push(...due.sort());
              made.push(...store.reconcile(holding, t).map((event) => `${event.action} ${event.key}`).sort());
              if (step.silence) {
                const key = `${run}:${step.silence}`;
                const event = store.silence(key, t);
                expect(event !== null).toBe(firing.get(key) === "firing");
                if (event) (firing.set(key, "silenced"), expected.push(`resolve ${key}`), made.push(`${event.action} ${event.key}`));
              }
            });
            expect(made).toEqual(expected);
          },
        ),
        { numRuns: 200 },
      );
      // Deliveries follow each channel's minimum severity (those of the runs above handed out first).
      for (let batch = store.queued(1_000); batch.length > 0; batch = store.queued(1_000)) store.markSent(batch, 0);
      const [warning] = store.reconcile([condition("w-only", "warning")], 10);
      const [critical] = store.reconcile([condition("w-only", "warning"), condition("both", "critical")], 11);
      const queued = store.queued(1_000);
      expect(queued.filter((d) => d.eventId === warning!.id).map((d) => d.channelId)).toEqual(["00000000-0000-4000-8000-00000000000w"]);
      expect(queued.filter((d) => d.eventId === critical!.id).map((d) => d.channelId).sort()).toEqual(["00000000-0000-4000-8000-00000000000c", "00000000-0000-4000-8000-00000000000w"]);
      // A trigger not yet delivered when its resolve came is not sent late (it would reopen what is closed).
      const [late] = store.reconcile([condition("late", "critical")], 20);
      store.reconcile([], 21);
      const channel = "00000000-0000-4000-8000-00000000000c";
      expect(store.delivery(late!.id, channel, 22)).toBeNull();
      expect(store.recent(5).find((e) => e.id === late!.id)!.deliveries).toContainEqual(expect.objectContaining({ channelId: channel, state: "superseded" }));
      const resolve = store.recent(5).find((e) => e.key === "late" && e.action === "resolve")!;
      expect(store.delivery(resolve.id, channel, 22)).toMatchObject({ event: { action: "resolve", key: "late" } });
      // Silenced by the operator; unsilence (they acted on the run) lets the next start fire.
      store.reconcile([condition("run:r1", "critical")], 30);
      expect(store.silence("run:r1", 31)).not.toBeNull();
      expect(store.reconcile([condition("run:r1", "critical")], 32)).toEqual([]);
      store.unsilence("run:", 33);
      expect(store.reconcile([condition("run:r1", "critical")], 34).map((e) => e.action)).toEqual(["trigger"]);
      // Storage stays bounded: old events are dropped.
      expect(state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM alert_events`).one().n).toBeLessThanOrEqual(1_000);
    });
  });
});
