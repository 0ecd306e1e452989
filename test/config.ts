/** Settings shared by the Node side (global setup) and the Worker under test. */
export const TEST_MAX_FILE_SIZE = 2 * 1024 * 1024;
export const TEST_MEDIA_ROOT = "/app/media";
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";
export const TEST_JWT_SECRET = "test-jwt-secret";
export const TEST_LEGACY_JWT_SECRET = "test-legacy-django-secret-key";
/** The gate's state cache TTL in tests: short, so that state changes show quickly. */
export const TEST_CUTOVER_TTL_MS = 300;
/** New password hashes in tests: cheaper than production's default, so that tests stay quick. */
export const TEST_PASSWORD_ITERATIONS = 20_000;

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the fixture legacy origin started by test/global-setup.ts. */
    legacyOrigin: string;
    /** URL of a listener on another loopback address that the Worker must never reach (proxy tests). */
    decoyOrigin: string;
    alertReceiver: string;
  }
}

/** The page the fixture legacy origin plays legacy's front end with (test/legacy-origin/server.ts). */
export const LEGACY_PAGE = "<!doctype html><title>List Cutter (legacy)</title><h1>List Cutter</h1>";
