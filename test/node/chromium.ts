// Debian's Chromium for the browser tests (driven by playwright-core, never `playwright install`).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";

export const CHROMIUM = "/usr/bin/chromium";

/** False (the test skipped) when Chromium is missing outside CI; in CI a missing browser fails the test. */
export function chromiumOrSkip(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`;
  if (process.env.CI) assert.fail(why);
  t.skip(why);
  return false;
}
