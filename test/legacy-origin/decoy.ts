import http from "node:http";

/**
 * A listener on another loopback address, standing for any host that is not the legacy origin.
 * The Worker must never reach it: it counts every request it receives, except its own counter
 * reads (`GET /__decoy/hits`), which the tests make directly.
 */
export interface Decoy {
  url: string;
  close(): Promise<void>;
}

export async function startDecoy(host = "127.0.0.2"): Promise<Decoy> {
  const hits: { method: string; url: string; authorization: string | null; cookie: string | null }[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/__decoy/hits") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(hits));
    }
    if (req.method === "DELETE" && req.url === "/__decoy/hits") {
      hits.length = 0;
      return res.writeHead(204).end();
    }
    hits.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null });
    req.resume();
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("decoy: you should never see this");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  return { url: `http://${host}:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
