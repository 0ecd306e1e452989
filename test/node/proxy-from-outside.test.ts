// The legacy proxy tried from outside, as an attacker would: raw HTTP request targets sent over a
// socket to `wrangler dev` (absolute-form, authority-form, double slashes, backslashes, dot segments,
// encodings), with the visitor's credentials. A decoy on another loopback address must see nothing.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { startDecoy } from "../legacy-origin/decoy.ts";
import { startStack } from "./stack.ts";

const PORT = 8794;

/** Sends one raw HTTP/1.1 request and returns the whole answer as text (bounded, with a timeout). */
function raw(port: number, requestLine: string, host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(5_000, done);
    socket.on("data", (d) => {
      answer += d.toString("latin1");
      if (answer.length > 64 * 1024) done();
    });
    socket.on("end", done);
    socket.on("error", done);
    socket.write(`${requestLine}\r\nHost: ${host}\r\nCookie: sessionid=victim\r\nAuthorization: Bearer victim-token\r\nConnection: close\r\n\r\n`);
  });
}

test("no crafted request target makes the proxy reach another host", { timeout: 120_000 }, async () => {
  const decoy = await startDecoy();
  const stack = await startStack(PORT);
  try {
    const d = new URL(decoy.url);
    const targets = [
      `GET ${decoy.url}/x HTTP/1.1`,
      `GET ${decoy.url}//${d.host}/x HTTP/1.1`,
      `GET //${d.host}/x HTTP/1.1`,
      `GET ///${d.host}/x HTTP/1.1`,
      `GET /\\${d.host}/x HTTP/1.1`,
      `GET /..//${d.host}/x HTTP/1.1`,
      `GET /%2f%2f${d.host}/x HTTP/1.1`,
      `GET /%5c%5c${d.host}/x HTTP/1.1`,
      `GET /.%2e//${d.host}/x HTTP/1.1`,
      `GET ${d.host}/x HTTP/1.1`,
      `CONNECT ${d.host} HTTP/1.1`,
      `GET /api/..%2f..%2f/${d.host}/x HTTP/1.1`,
    ];
    const answers: string[] = [];
    for (const line of targets) answers.push(await raw(PORT, line, `127.0.0.1:${PORT}`));
    // A Host header naming the decoy must not steer the proxy either.
    answers.push(await raw(PORT, "GET /api/status/ HTTP/1.1", d.host));
    const hits = (await (await fetch(`${decoy.url}/__decoy/hits`)).json()) as unknown[];
    assert.deepEqual(hits, [], "the decoy was reached");
    for (const [i, answer] of answers.entries()) {
      assert.ok(!answer.includes("decoy: you should never see this"), `answer ${i} came from the decoy`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      // The runtime itself refuses what never reaches a Worker (CONNECT): only the Worker's own answers are judged.
      const fromWorker = /x-served-by:/i.test(answer);
      assert.ok(!fromWorker || status < 500 || status === 502, `${targets[i] ?? "Host: decoy"} → ${answer.slice(0, 300)}`);
    }
    // An ordinary request still reaches legacy, with legacy's answer.
    const ok = await raw(PORT, "GET /api/status/ HTTP/1.1", `127.0.0.1:${PORT}`);
    assert.match(ok, /^HTTP\/1\.1 200/);
    assert.match(ok, /x-served-by: legacy/i);
  } finally {
    await stack.stop();
    await decoy.close();
  }
});
