// The Worker's bindings are typed by the generated worker-configuration.d.ts; tests add their own.
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** The D1 migrations, read by test/vitest.config.ts and applied before each test file. */
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
