// A local alert receiver on 127.0.0.1 for the alert tests (started by test/global-setup.ts): it takes
// whatever the Worker posts, checks a webhook's signature with Node's own HMAC (not the Worker's code),
// and can be switched down (503), hanging (never answers) or rejecting (400) through /__mode.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export const RECEIVER_SECRET = "receiver-webhook-secret-0123456789";

type Mode = "up" | "down" | "hang" | "reject";

export interface Received {
  path: string;
  eventId: string | null;
  body: any;
  /** Whether x-list-cutter-signature verifies with RECEIVER_SECRET (null: no signature header). */
  signatureValid: boolean | null;
  /** What the receiver answered (0: it never did). */
  status: number;
  at: number;
}

/**
 * Starts the receiver. `refuse` lets a test answer 503 to chosen posts while it is up (the dashboard
 * test refuses a test event's first attempts); `received` is the same list /__received serves.
 */
export async function startAlertReceiver(refuse: (body: any) => boolean = () => false): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  let mode: Mode = "up";
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > 1_000_000) return void res.writeHead(413).end();
      chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    if (req.url === "/__mode" && req.method === "POST") {
      mode = JSON.parse(raw).mode;
      return void res.writeHead(204).end();
    }
    if (req.url === "/__received") {
      if (req.method === "DELETE") received.length = 0;
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify(received));
    }
    const body = safeJson(raw);
    const status = mode === "hang" ? 0 : mode === "reject" ? 400 : mode === "down" || refuse(body) ? 503 : req.url?.startsWith("/pagerduty") ? 202 : 200;
    received.push({ path: req.url ?? "", eventId: header(req, "x-list-cutter-event"), body, signatureValid: verify(header(req, "x-list-cutter-signature"), raw), status, at: Date.now() });
    if (mode === "hang") {
      hanging.add(res);
      return;
    }
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ status: status === 503 ? "down" : "success" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Stripe-style: `t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, within five minutes. */
function verify(signature: string | null, body: string): boolean | null {
  if (signature === null) return null;
  const parts = Object.fromEntries(signature.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300 || !parts.v1) return false;
  const expected = createHmac("sha256", RECEIVER_SECRET).update(`${t}.${body}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
