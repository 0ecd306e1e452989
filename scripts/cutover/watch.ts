import { setTimeout as sleep } from "node:timers/promises";
import { printable } from "../lib/printable.ts";
import { Unreachable, type OperatorApi } from "./api.ts";
import { decimal, duration, paint } from "./format.ts";
import { changeKey, compactLine, renderRun } from "./render.ts";
import type { RunView } from "./view.ts";

export interface Screen {
  write(text: string): void;
  /** Redraw in place; otherwise one line per change, so that logs stay readable. */
  tty: boolean;
  color: boolean;
}

export interface WatchOptions {
  intervalMs: number;
  /** The Worker's JSON, one line per change. */
  json: boolean;
  /** Stop once this holds. */
  until(view: RunView): boolean;
  /** Ctrl-C: stop watching (the run goes on). */
  signal: AbortSignal;
  /** How long refreshes may fail in a row before the watch gives up (default GIVE_UP_MS). */
  giveUpMs?: number;
}

/** A live view survives a Worker that does not answer for this long; then it gives up (exit 2). */
export const GIVE_UP_MS = 60_000;

const CLEAR = "\x1b[2J\x1b[H";
const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";

/** Shows the run, refreshed every interval, until `until` holds or the signal aborts; returns the last view. */
export async function watch(api: Pick<OperatorApi, "run">, first: RunView, screen: Screen, options: WatchOptions): Promise<RunView> {
  let view = first;
  let lastKey: string | null = null;
  let drawn = false;
  let failingSince: number | null = null;
  /** The last refresh's error while the Worker does not answer. */
  let failure: string | null = null;
  let lastFailure: string | null = null;
  const p = paint(screen.color);
  for (;;) {
    const now = Date.now();
    const key = changeKey(view);
    if (screen.tty && !options.json) {
      const footer = p.dim(`refreshed ${new Date(now).toISOString().slice(11, 19)} UTC, every ${decimal(options.intervalMs / 1000)} s · Ctrl-C stops this view, not the run`);
      const frame = [renderRun(view, now, { color: screen.color }), "", footer, ...(failure && failingSince !== null ? [p.yellow(`⚠ ${failure}; still trying (for ${duration((now - failingSince) / 1000)})`)] : [])];
      screen.write((drawn ? HOME : CLEAR) + frame.join("\n").split("\n").join(`${CLEAR_LINE_END}\n`) + `${CLEAR_LINE_END}\n${CLEAR_BELOW}`);
      drawn = true;
    } else {
      if (key !== lastKey) screen.write(`${options.json ? JSON.stringify(view) : compactLine(view, now)}\n`);
      if (failure && failure !== lastFailure) screen.write(`${new Date(now).toISOString().slice(0, 19)}Z ⚠ ${failure}; still trying\n`);
      lastFailure = failure;
    }
    lastKey = key;
    if (options.until(view)) return view;
    try {
      await sleep(options.intervalMs, undefined, { signal: options.signal });
      view = await api.run();
      failingSince = null;
      failure = null;
    } catch (error) {
      if (options.signal.aborted) return view;
      if (!(error instanceof Unreachable)) throw error;
      failingSince ??= Date.now();
      if (Date.now() - failingSince >= (options.giveUpMs ?? GIVE_UP_MS)) throw error;
      failure = printable(error.message);
    }
  }
}
