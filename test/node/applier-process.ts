// The reverse-sync applier (`npm run reverse-sync`) run as a child process, for the Node tests.
import { spawn } from "node:child_process";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const NODE = join(root, "node_modules/.bin/node");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const show = (run: Run) => `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

/** `node <args>` from the project root, without ADMIN_TOKEN or DATABASE_URL from this environment. */
export function spawnApplier(args: string[]): Promise<Run> {
  const { ADMIN_TOKEN: _token, DATABASE_URL: _url, ...environment } = process.env;
  // Asynchronous on purpose: the calling process serves the database the child talks to.
  const child = spawn(NODE, args, { cwd: root, env: environment, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
