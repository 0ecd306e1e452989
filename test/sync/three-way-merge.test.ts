import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, MERGE_RULES, sameValue, syncedFields, threeWayMerge, type TableRule, type Value } from "../../src/sync/three-way-merge";

/** A rule of plain, JSON, "later" and "legacyWins" fields; small value domains, so that equal values are common. */
const RULE: TableRule = { fields: ["name", "count", "tags", "seen", "secret"], json: new Set(["tags"]), later: new Set(["seen"]), legacyWins: new Set(["secret"]) };
/** Fields merged by the generic three-way rule. */
const GENERIC = RULE.fields.filter((f) => !RULE.later.has(f) && !RULE.legacyWins.has(f));

const plain = fc.constantFrom<Value>("a", "b", "c", null);
const count = fc.constantFrom<Value>(0, 1, 2);
/** JSON text: the same value may come with its keys in any order. */
const tags = fc.constantFrom<Value>('["x"]', '["x","y"]', '["y","x"]', '{"a":1,"b":2}', '{"b":2,"a":1}', "[]");
const instant = fc.constantFrom<Value>(null, "2024-01-01T00:00:00.000Z", "2024-06-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z");
const secret = fc.constantFrom<Value>("hash-1", "hash-2", "hash-3");
const row = fc.record({ name: plain, count, tags, seen: instant, secret });

const same = (field: string, a: Value, b: Value) => sameValue(RULE, field, a, b);
const ms = (v: Value) => (v === null ? -Infinity : Date.parse(String(v)));

describe("the three-way merge of an import", () => {
  it("never overwrites a field changed locally, and takes every remote change of a field that was not", () => {
    fc.assert(
      fc.property(row, row, row, (base, local, remote) => {
        const { values } = threeWayMerge(RULE, base, local, remote);
        for (const field of GENERIC) {
          const b = base[field as keyof typeof base];
          const l = local[field as keyof typeof local];
          const r = remote[field as keyof typeof remote];
          if (!same(field, l, b)) expect(values[field], field).toBe(l);
          else expect(same(field, values[field]!, r), field).toBe(true);
        }
      }),
    );
  });

  it("reports a conflict exactly when both sides changed a field to different values", () => {
    fc.assert(
      fc.property(row, row, row, (base, local, remote) => {
        const { conflicts } = threeWayMerge(RULE, base, local, remote);
        const expected = GENERIC.filter((f) => {
          const [b, l, r] = [base, local, remote].map((x) => x[f as keyof typeof x]) as Value[];
          return !same(f, l!, b!) && !same(f, r!, b!) && !same(f, l!, r!);
        });
        expect(conflicts.map((c) => c.field)).toEqual(expected);
        for (const c of conflicts) expect(c).toEqual({ field: c.field, base: base[c.field as keyof typeof base], local: local[c.field as keyof typeof local], remote: remote[c.field as keyof typeof remote] });
      }),
    );
  });

  it("takes every remote change of a 'legacyWins' field, even over a local change, keeps local while legacy did not change it, and never reports it", () => {
    fc.assert(
      fc.property(row, row, row, (base, local, remote) => {
        const { values, tookRemote, conflicts } = threeWayMerge(RULE, base, local, remote);
        expect(values.secret).toBe(remote.secret === base.secret ? local.secret : remote.secret);
        expect(tookRemote.includes("secret")).toBe(values.secret !== local.secret);
        expect(conflicts.some((c) => c.field === "secret")).toBe(false);
      }),
    );
  });

  it("has legacy win users.password_hash and users.is_active: an upward re-hash survives until legacy changes the password", () => {
    expect([...MERGE_RULES.users.legacyWins].sort()).toEqual(["is_active", "password_hash"]);
    for (const table of ["files", "saved_filters"] as const) expect(MERGE_RULES[table].legacyWins.size).toBe(0);
    const users = MERGE_RULES.users;
    const legacy = { password_hash: "pbkdf2_sha256$1000$a$old", is_active: 1 };
    const rehashed = { ...legacy, password_hash: "pbkdf2_sha256$600000$b$old" };
    // Legacy did not change it: the new app's re-hash is kept.
    expect(threeWayMerge(users, legacy, rehashed, legacy)).toMatchObject({ values: rehashed, tookRemote: [], conflicts: [] });
    // Legacy changed the password and deactivated the user: both arrive over the re-hash, with no conflict.
    const changed = { password_hash: "pbkdf2_sha256$1000$c$new", is_active: 0 };
    expect(threeWayMerge(users, legacy, rehashed, changed)).toMatchObject({ values: changed, tookRemote: ["is_active", "password_hash"], conflicts: [] });
  });

  it("takes the later of two instants for a 'later' field, and never reports it", () => {
    fc.assert(
      fc.property(row, row, row, (base, local, remote) => {
        const { values, conflicts } = threeWayMerge(RULE, base, local, remote);
        expect(ms(values.seen!)).toBe(Math.max(ms(local.seen), ms(remote.seen)));
        expect(conflicts.some((c) => c.field === "seen")).toBe(false);
      }),
    );
  });

  it("is idempotent: merging the same remote again, on the new base, changes and reports nothing", () => {
    fc.assert(
      fc.property(row, row, row, (base, local, remote) => {
        const first = threeWayMerge(RULE, base, local, remote);
        const again = threeWayMerge(RULE, syncedFields(RULE, remote), first.values, remote);
        expect(again.values).toEqual(first.values);
        expect(again.tookRemote).toEqual([]);
        expect(again.conflicts).toEqual([]);
      }),
    );
  });

  it("lists as taken from remote exactly the fields whose merged value differs from local", () => {
    fc.assert(
      fc.property(row, row, row, (base, local, remote) => {
        const { values, tookRemote } = threeWayMerge(RULE, base, local, remote);
        expect(tookRemote).toEqual(RULE.fields.filter((f) => !same(f, values[f]!, local[f as keyof typeof local])));
      }),
    );
  });

  it("treats a row without a base as unchanged locally", () => {
    fc.assert(
      fc.property(row, row, (local, remote) => {
        const { values, conflicts } = threeWayMerge(RULE, null, local, remote);
        expect(conflicts).toEqual([]);
        for (const f of [...GENERIC, ...RULE.legacyWins]) expect(same(f, values[f]!, remote[f as keyof typeof remote])).toBe(true);
      }),
    );
  });

  it("compares JSON canonically: key order does not matter, array order does", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
        expect(sameValue(MERGE_RULES.files, "metadata", JSON.stringify(object), JSON.stringify(reversed))).toBe(true);
      }),
    );
    expect(sameValue(MERGE_RULES.files, "user_tags", '["a","b"]', '["b","a"]')).toBe(false);
  });
});
