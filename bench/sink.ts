import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A stand-in OTLP/HTTP collector: accepts POST /v1/traces, counts exports and bytes, answers 200. */
export interface TraceSink {
  readonly url: string;
  readonly stats: { exports: number; bytes: number };
  close(): Promise<void>;
}

export async function startTraceSink(): Promise<TraceSink> {
  const stats = { exports: 0, bytes: 0 };
  const server: Server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      stats.bytes += chunk.length;
    });
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") stats.exports += 1;
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
