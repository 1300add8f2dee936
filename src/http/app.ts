import express, { type NextFunction, type Request, type Response } from "express";
import { GatewayError, errorEnvelope, toGatewayError, type ErrorType } from "../errors/catalog.js";
import type { RejectionReason } from "../telemetry/events.js";
import type { Snapshot } from "../gateway/snapshot.js";
import { balanceHandler } from "../proxy/balance.js";
import type { ProxyDeps } from "../proxy/deps.js";
import { passthroughHandler } from "../proxy/passthrough.js";
import { statusHandler } from "../proxy/status.js";
import { submitHandler } from "../proxy/submit.js";
import type { Logger } from "../telemetry/logger.js";
import { endRequestSpan, runInSpan, startRequestSpan } from "../telemetry/spans.js";
import { isAllowedPath } from "./allowedPaths.js";
import { authenticate } from "./authenticate.js";
import { finishRecord } from "./finish.js";

export interface AppDeps extends ProxyDeps {
  readonly snapshot: () => Snapshot;
  readonly readiness: () => Promise<{ ready: boolean; reason?: string }>;
  readonly logger: Logger;
}

/**
 * The public port. A request's way through reads top to bottom:
 * context (request id) -> health -> authenticate -> route (validate, limits, proxy, settle) -> not found -> errors.
 */
const CLIENT_CLOSED_REQUEST = 499;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const ctx = deps.contexts.create(req, deps.snapshot(), deps.clock.monotonicMs());
    res.setHeader("X-Request-Id", ctx.requestId);
    ctx.span = startRequestSpan(req.method, req.headers);
    // "close" rather than "finish": a client that goes away mid-request (a submit may still be charged) gets
    // its audit line too, with nginx's 499 when no answer had started.
    res.once("close", () => {
      const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
      const record = finishRecord(ctx, req.method, status, deps.clock.monotonicMs());
      deps.events.requestFinished(record);
      endRequestSpan(ctx.span, record);
    });
    runInSpan(ctx.span, next);
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const readiness = await deps.readiness();
    res
      .status(readiness.ready ? 200 : 503)
      .json({ status: readiness.ready ? "ready" : "not_ready", ...readiness });
  });

  const auth = authenticate(deps);
  const operation =
    (name: "submit" | "status" | "balance") => (req: Request, _res: Response, next: NextFunction) => {
      const ctx = deps.contexts.get(req);
      ctx.operation = name;
      const model = req.params.model;
      if (typeof model === "string") ctx.model = model;
      next();
    };
  app.post("/api/v1/generateTask/:model", operation("submit"), auth, submitHandler(deps));
  app.get("/api/v1/statusTask/:model", operation("status"), auth, statusHandler(deps));
  app.get("/api/v1/apikeys/current-balance", operation("balance"), auth, balanceHandler(deps));
  // APIXO's calls back for callback-mode tasks: no gateway key; the unguessable token is the credential.
  app.post("/callbacks/apixo/:token", (req, res) => deps.callbacks.receive(req, res));

  const passthrough = passthroughHandler(deps);
  app.use((req, res, next) => {
    const allowed = deps.contexts.get(req).snapshot.config.server.allowedPaths;
    if (!isAllowedPath(req.url, allowed)) {
      next();
      return;
    }
    auth(req, res, (err?: unknown) => {
      if (err !== undefined) next(err);
      else passthrough(req, res).catch(next);
    });
  });

  app.use((req) => {
    throw new GatewayError(
      "NOT_FOUND",
      `No such endpoint: ${req.method} ${req.path}. The gateway serves generateTask, statusTask and current-balance.`,
    );
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const ctx = deps.contexts.get(req);
    const error = bodyParserError(err) ?? toGatewayError(err);
    ctx.errorType = error.type;
    const reason = REJECTION_REASONS[error.type];
    if (reason !== undefined) deps.events.rejected({ tenant: ctx.policy?.tenant.id, reason });
    if (error.type === "INTERNAL") {
      deps.logger.error({ requestId: ctx.requestId, err: error.cause }, "internal error");
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.retryAfterSec !== undefined) res.setHeader("Retry-After", String(error.retryAfterSec));
    res.status(error.status).json(errorEnvelope(error, ctx.requestId));
  });

  return app;
}

/** Errors that are a decision about the client's request, counted as rejections by reason. */
const REJECTION_REASONS: Partial<Record<ErrorType, RejectionReason>> = {
  UNAUTHENTICATED: "unauthenticated",
  MODEL_NOT_ALLOWED: "model_not_allowed",
  INVALID_REQUEST: "invalid_request",
  PAYLOAD_TOO_LARGE: "invalid_request",
  RATE_LIMITED: "rate_limited",
  CONCURRENCY_LIMITED: "concurrency_limited",
  SPEND_CAP_EXCEEDED: "spend_cap",
};

/** Express raises its own errors for malformed requests (e.g. bad URL encoding); keep them in our envelope. */
function bodyParserError(err: unknown): GatewayError | undefined {
  if (err instanceof GatewayError) return undefined;
  if (typeof err !== "object" || err === null || !("status" in err) || typeof err.status !== "number")
    return undefined;
  if (err.status === 400)
    return new GatewayError("INVALID_REQUEST", "The request could not be read (malformed URL or headers).");
  return undefined;
}
