import { describe, expect, it } from "vitest";
import { parsePgArray, parsePgBoolean, parsePgTimestamp } from "../../src/legacy/postgres-literals";

describe("PostgreSQL text forms", () => {
  it.each([
    ["{}", []],
    ["", []],
    ["{generated}", ["generated"]],
    ['{a,"b c","with \\"quote\\"",NULL,"NULL"}', ["a", "b c", 'with "quote"', "NULL"]],
    ['{"comma, inside", plain }', ["comma, inside", "plain"]],
  ])("array %s", (literal, expected) => {
    expect(parsePgArray(literal)).toEqual(expected);
  });

  it.each(["{unclosed", "plain", '{"open}', "{{nested}}"])("rejects malformed array %s", (literal) => {
    expect(() => parsePgArray(literal)).toThrow();
  });

  it("booleans and timestamps", () => {
    expect([parsePgBoolean("t"), parsePgBoolean("f"), parsePgBoolean("true")]).toEqual([true, false, true]);
    expect(() => parsePgBoolean("maybe")).toThrow("not a boolean");
    expect(parsePgTimestamp("2024-02-03 04:05:06.789+00")).toBe("2024-02-03T04:05:06.789Z");
    expect(parsePgTimestamp("2024-02-03 06:05:06+02")).toBe("2024-02-03T04:05:06.000Z");
    expect(parsePgTimestamp("2024-02-03 04:05:06")).toBe("2024-02-03T04:05:06.000Z");
    expect(parsePgTimestamp("")).toBeNull();
    expect(() => parsePgTimestamp("yesterday")).toThrow("not a timestamp");
  });
});
