// ADMIN_TOKEN=… npm run cutover -- preflight|start|status|pause|resume|skip|abort --worker <URL> [options]
// (--token exists too, but arguments are visible to everyone in `ps`; `--help` lists every option.)
//
// The operator's side of a cutover run (POST/GET /admin/cutover/run…, src/admin/cutover-run.ts): a
// preflight of an export set, starting a run from a plan, and its live view — the stages, the gate's
// split, the current job's progress, the new app's error rate and latency, the sync lag — redrawn in
// place on a terminal, one line per change anywhere else.
// Exit codes: 0 done, or the run is running, paused or completed; 1 the Worker refused, or the run
// ended rolled_back, aborted or failed; 2 bad arguments, or the Worker unreachable.
import { OperatorApi, Refusal, Unreachable, type RunAction } from "./cutover/api.ts";
import { readOptions, USAGE, type Options } from "./cutover/args.ts";
import { printable } from "./lib/printable.ts";
import { optionsOrExit } from "./lib/worker.ts";
import { renderPreflight } from "./cutover/preflight.ts";
import { renderRun } from "./cutover/render.ts";
import { exitCodeOf, isFinished, type RunView } from "./cutover/view.ts";
import { watch } from "./cutover/watch.ts";

const tty = Boolean(process.stdout.isTTY);
// https://no-color.org: set and not empty.
const color = tty && !process.env.NO_COLOR;
const write = (text: string) => process.stdout.write(text);

async function main(options: Options): Promise<number> {
  const stop = new AbortController();
  const api = new OperatorApi(options.worker, options.token, options.timeoutMs, stop.signal);
  const { command, json } = options;
  const show = (view: RunView) => write(`${json ? JSON.stringify(view, null, 2) : renderRun(view, Date.now(), { color })}\n`);
  const follow = async (view: RunView, until: (view: RunView) => boolean): Promise<number> => {
    process.once("SIGINT", () => stop.abort());
    const last = await watch(api, view, { write, tty, color }, { intervalMs: options.intervalMs, json, until, signal: stop.signal });
    return exitCodeOf(last);
  };
  const control = async (action: RunAction, body: Record<string, unknown> = {}): Promise<number> => {
    show(await api.control(action, body));
    return 0;
  };

  switch (command.name) {
    case "preflight": {
      const report = await api.preflight({ exportSet: command.exportSet, ...(command.sample === undefined ? {} : { sample: command.sample }) });
      write(`${json ? JSON.stringify(report, null, 2) : renderPreflight(report, Date.now(), { color })}\n`);
      return 0;
    }
    case "start": {
      const view = await api.startRun(command.plan);
      if (!command.detach) return follow(view, (v) => v.state !== "running");
      show(view);
      return exitCodeOf(view);
    }
    case "status": {
      const view = await api.run();
      if (command.watch) return follow(view, isFinished);
      show(view);
      return exitCodeOf(view);
    }
    case "pause":
    case "abort":
      return control(command.name, command.reason === undefined ? {} : { reason: command.reason });
    case "resume":
      return control("resume");
    case "skip":
      return control("skip", { stage: command.stage, reason: command.reason });
  }
}

const options = optionsOrExit(() => readOptions(process.argv.slice(2), process.env), USAGE);
try {
  process.exitCode = await main(options);
} catch (error) {
  if (error instanceof Refusal) {
    console.error(`✖ refused by the Worker (HTTP ${error.status}): ${printable(error.message)}`);
    process.exitCode = 1;
  } else if (error instanceof Unreachable) {
    console.error(`✖ no answer from the Worker: ${printable(error.message)}`);
    process.exitCode = 2;
  } else throw error;
}
