import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import type { Env } from "../../src/env";
import { uploadKey } from "../../src/legacy/paths";
import { d1Row, deliverCopy, legacyPaths, runJob, tokenFor, uploadExport, type LegacyFile } from "./canary";

/** `env` whose FILES.delete runs `after` once its own delete is done: what lands between the delete's steps. */
function withHookAfterR2Delete(after: () => Promise<void>): Env {
  const bucket = env.FILES;
  const files = new Proxy(bucket, {
    get(target, prop) {
      if (prop === "delete") {
        return async (keys: string | string[]) => {
          await target.delete(keys);
          await after();
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return new Proxy(env, { get: (target, prop) => (prop === "FILES" ? files : Reflect.get(target, prop)) }) as Env;
}

describe("deleting an imported file while a copy of it lands", () => {
  it("leaves neither its row nor its object: the D1 delete and tombstone come before the R2 delete", async () => {
    const [path] = await legacyPaths();
    const file: LegacyFile = { id: 7811, userId: 781, fileId: crypto.randomUUID(), path: path! };
    await uploadExport("del-race", { users: [{ id: 781, username: "del-race-owner" }], files: [file] });
    expect(await runJob("full", "del-race")).toMatchObject({ state: "completed", items: { done: 1 } });
    const key = uploadKey(file.userId, file.fileId);
    expect(await env.FILES.head(key)).not.toBeNull();
    const { num } = (await d1Row("files", file.fileId))!;

    // A re-copy of the file lands right after the delete has removed the object.
    let landed = false;
    const racing = withHookAfterR2Delete(async () => {
      if (landed) return;
      landed = true;
      await deliverCopy(file);
    });
    const request = new Request(`https://list-cutter.test/api/list_cutter/delete/${num}/`, { method: "DELETE", headers: { authorization: `Bearer ${await tokenFor(file.userId)}` } });
    expect((await app(request, racing, createExecutionContext())).status).toBe(204);
    expect(landed).toBe(true);

    expect(await d1Row("files", file.fileId)).toBeNull();
    expect(await env.DB.prepare(`SELECT legacy_id FROM tombstones WHERE tbl = 'files' AND row_id = ?`).bind(file.fileId).first()).toEqual({ legacy_id: file.id });
    expect(await env.FILES.head(key)).toBeNull();
  });
});
