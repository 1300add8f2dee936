import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Router } from "express";
import type { Registry } from "prom-client";
import type { Logger } from "../telemetry/logger.js";

export interface OpsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** Mounted at /admin; it brings its own authentication. */
  readonly adminRouter?: Router;
  readonly logger: Logger;
}

export interface OpsServer {
  readonly url: string;
  readonly metricsUrl: string;
  close(): Promise<void>;
}

/**
 * The operator's port: /metrics (and the admin API), kept off the public port so tenants can neither scrape
 * other tenants' spend nor reach the admin API, and a network policy can expose it to Prometheus only.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.get("/metrics", async (_req, res) => {
    try {
      const text = await options.registry.metrics();
      res.setHeader("Content-Type", options.registry.contentType);
      res.end(text);
    } catch (err) {
      options.logger.error({ event: "metrics_scrape_failed", err }, "metrics scrape failed");
      res.status(500).type("text/plain").end("metrics collection failed\n");
    }
  });
  if (options.adminRouter !== undefined) app.use("/admin", options.adminRouter);
  app.use((_req, res) => {
    res.status(404).type("text/plain").end("not found: this port serves /metrics and /admin\n");
  });

  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  return {
    url,
    metricsUrl: `${url}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // Scrapes are short; nothing here is worth waiting for at shutdown.
        server.closeAllConnections();
      }),
  };
}
