import { FEATURE_HEADER, USER_HEADER } from "../routes/attribution.js";
import type { Agent } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { createProxyMiddleware } from "http-proxy-middleware";
import { authenticate } from "../routes/authenticate.js";
import { policyOf, type RequestContext } from "../routes/context.js";
import { UpstreamError } from "../upstream/upstreamError.js";
import { isAllowedPath } from "./allowedPaths.js";

/** Never sent upstream on a passthrough: the tenant's credentials and cookies, and what only the gateway asserts. */
const NOT_UPSTREAM = [
  "authorization",
  "cookie",
  "x-forwarded-for",
  "x-forwarded-host",
  "forwarded",
  USER_HEADER,
  FEATURE_HEADER,
];

export interface PassthroughDeps {
  readonly baseUrl: string;
  readonly agent: Agent | HttpsAgent;
  readonly timeoutMs: number;
  readonly contextOf: (res: Response) => RequestContext;
  readonly allowedPaths: () => readonly string[];
  readonly fail: (err: unknown, req: Request, res: Response) => void;
  readonly monotonicMs: () => number;
}

/**
 * The operator's extra paths (`server.allowedPaths`): authenticated, then streamed to APIXO untouched but for
 * the credentials. Streaming arbitrary paths with their headers is exactly http-proxy-middleware's job; the
 * governed endpoints keep the lean transport (src/upstream/transport.ts), whose reason is measured in
 * docs/benchmarks.md.
 */
export function passthrough(deps: PassthroughDeps): RequestHandler {
  const allowed = (req: Request): boolean => isAllowedPath(req.url, deps.allowedPaths());
  const proxy = createProxyMiddleware<Request, Response>({
    target: deps.baseUrl,
    changeOrigin: true,
    agent: deps.agent,
    proxyTimeout: deps.timeoutMs,
    pathFilter: (_path, req) => allowed(req),
    on: {
      proxyReq(proxyReq, _req, res) {
        const ctx = deps.contextOf(res);
        for (const name of NOT_UPSTREAM) proxyReq.removeHeader(name);
        proxyReq.setHeader("authorization", `Bearer ${policyOf(ctx).upstreamKey}`);
        proxyReq.setHeader("x-request-id", ctx.requestId);
      },
      proxyRes(proxyRes, _req, res) {
        const ctx = deps.contextOf(res);
        // Never to the client: APIXO's cookies; the request id is the gateway's.
        delete proxyRes.headers["set-cookie"];
        delete proxyRes.headers["x-request-id"];
        const startedMs = deps.monotonicMs();
        proxyRes.once("end", () => {
          ctx.facts.upstreamMs += deps.monotonicMs() - startedMs;
        });
      },
      error(err, req, res) {
        if (!("writeHead" in res)) return;
        if (res.headersSent) {
          res.destroy();
          return;
        }
        deps.fail(UpstreamError.classify(err, false).toGatewayError(), req, res);
      },
    },
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!allowed(req)) {
      next();
      return;
    }
    authenticate(deps.contextOf(res), req.headers.authorization);
    proxy(req, res, next).catch(next);
  };
}
