/** Settings shared by the Node side (global setup) and the Worker under test. */
export const TEST_MAX_FILE_SIZE = 2 * 1024 * 1024;
export const TEST_MEDIA_ROOT = "/app/media";
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the fixture legacy origin started by test/global-setup.ts. */
    legacyOrigin: string;
  }
}
