import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { TEST_ADMIN_TOKEN, TEST_CUTOVER_TTL_MS, TEST_JWT_SECRET, TEST_LEGACY_JWT_SECRET, TEST_MAX_FILE_SIZE, TEST_PASSWORD_ITERATIONS } from "./config.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: `${root}/wrangler.toml` },
      miniflare: {
        bindings: {
          LEGACY_ORIGIN: inject("legacyOrigin"),
          MAX_FILE_SIZE: String(TEST_MAX_FILE_SIZE),
          ADMIN_TOKEN: TEST_ADMIN_TOKEN,
          CUTOVER_CACHE_TTL_MS: String(TEST_CUTOVER_TTL_MS),
          JWT_SECRET: TEST_JWT_SECRET,
          LEGACY_JWT_SECRET: TEST_LEGACY_JWT_SECRET,
          PASSWORD_ITERATIONS: String(TEST_PASSWORD_ITERATIONS),
          TEST_MIGRATIONS: await readD1Migrations(`${root}/migrations`),
          // Alerts: channels may post to the local receiver (plain http), and a failed delivery is retried after 1 s.
          ALERT_SECRETS_KEY: "test-alert-secrets-key-0123456789abcdef",
          ALERT_ALLOW_HTTP: "true",
          ALERT_RETRY_SECONDS: "1",
        },
      },
    })),
  ],
  root,
  test: {
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    include: ["test/**/*.test.ts"],
    // test/node/ holds Node test-runner tests (they start wrangler dev); npm test runs them after.
    exclude: ["test/node/**", "node_modules/**"],
    // The fixture origin (and its fault switches) is shared by the whole run: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
