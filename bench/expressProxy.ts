/**
 * A plain reverse proxy on the gateway's own stack (express + http-proxy-middleware, keep-alive agent), with
 * no governance at all: what an ungoverned Node proxy built the usual way costs, to set the gateway against.
 *
 *   tsx bench/expressProxy.ts --port P --upstream http://127.0.0.1:Q --key K
 */
import { Agent } from "node:http";
import { parseArgs } from "node:util";
import express from "express";
import { createProxyMiddleware } from "http-proxy-middleware";

const { values } = parseArgs({
  options: { port: { type: "string" }, upstream: { type: "string" }, key: { type: "string" } },
});
const app = express();
app.use(
  createProxyMiddleware({
    target: values.upstream,
    changeOrigin: true,
    agent: new Agent({ keepAlive: true, maxSockets: 256 }),
    headers: { authorization: `Bearer ${values.key ?? ""}` },
  }),
);
const server = app.listen(Number(values.port), "127.0.0.1");
process.once("SIGTERM", () => {
  server.close();
});
