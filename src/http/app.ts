import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import { GatewayError, errorEnvelope, toGatewayError, type ErrorType } from "../errors/catalog.js";
import type { RejectionReason } from "../telemetry/events.js";
import type { Snapshot } from "../tenants/snapshot.js";
import { balanceHandler } from "../routes/balance.js";
import type { ProxyDeps } from "../routes/deps.js";
import { passthroughHandler } from "../routes/passthrough.js";
import { statusHandler } from "../routes/status.js";
import { submitHandler } from "../routes/submit.js";
import type { Logger } from "../telemetry/logger.js";
import { endRequestSpan, runInSpan, startRequestSpan } from "../telemetry/spans.js";
import { isAllowedPath } from "./allowedPaths.js";
import { authenticate } from "./authenticate.js";
import { finishRecord } from "./finish.js";
import { ClientClosedRequest } from "./body.js";
import { matchGovernedRoute, type GovernedRoute, type RouteMatch } from "./governedRoutes.js";
import { requestProblem } from "./protocolErrors.js";

export interface AppDeps extends ProxyDeps {
  readonly snapshot: () => Snapshot;
  readonly readiness: () => Promise<{ ready: boolean; reason?: string }>;
  readonly logger: Logger;
}

/** The public port's request handling, plus the one way the server itself refuses a request (publicServer.ts). */
export interface PublicApp {
  readonly handle: RequestListener;
  /**
   * Answers a request in the envelope, with its request id and audit line, when the server refuses it outside the
   * handlers: an unmet `Expect`, or a timeout or parse error while its body was still arriving.
   */
  readonly refuse: (req: IncomingMessage, res: ServerResponse, error: GatewayError) => void;
}

const CLIENT_CLOSED_REQUEST = 499;

/**
 * The public port. A request's way through reads top to bottom:
 * begin (context, request id) -> governed endpoint? (authenticate, validate, limits, proxy, settle) ->
 * otherwise express (health, callbacks, passthrough, not found) -> errors, all in one envelope.
 */
export function createApp(deps: AppDeps): PublicApp {
  const handlers = {
    submit: submitHandler(deps),
    status: statusHandler(deps),
    balance: balanceHandler(deps),
  };
  const governed = async (route: GovernedRoute, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ctx = deps.contexts.get(req);
    ctx.operation = route.operation;
    if (route.operation === "balance") {
      authenticate(ctx, req);
      await handlers.balance(req, res);
      return;
    }
    ctx.model = route.model;
    authenticate(ctx, req);
    if (route.operation === "submit") await handlers.submit(req, res, route.model);
    else await handlers.status(req, res, route.model, route.taskId);
  };
  const fail = (err: unknown, req: IncomingMessage, res: ServerResponse): void => {
    failRequest(deps, err, req, res);
  };
  const app = expressApp(deps, fail);
  // Express catches what its handlers throw; this path must do the same for begin() and fail() themselves.
  const lastResort = (res: ServerResponse) => (err: unknown) => {
    deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, "request failed");
    res.destroy();
  };
  const run = (req: IncomingMessage, res: ServerResponse, work: () => Promise<void>): void => {
    try {
      const go = (): void => {
        work()
          .catch((err: unknown) => {
            fail(err, req, res);
          })
          .catch(lastResort(res));
      };
      if (deps.contexts.has(req)) go();
      else begin(deps, req, res, go);
    } catch (err) {
      lastResort(res)(err);
    }
  };

  return {
    handle: (req, res) => {
      const problem = requestProblem(req);
      const match: RouteMatch =
        problem === undefined ? matchGovernedRoute(req.method, req.url) : { kind: "refused", error: problem };
      if (match.kind === "other") {
        app(req, res);
        return;
      }
      run(req, res, () =>
        match.kind === "governed" ? governed(match.route, req, res) : Promise.reject(match.error),
      );
    },
    refuse: (req, res, error) => {
      run(req, res, () => Promise.reject(error));
    },
  };
}

/** Every request's start: its context and request id, its span, and its audit line when it closes. */
function begin(deps: AppDeps, req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const ctx = deps.contexts.create(req, deps.snapshot(), deps.clock.monotonicMs());
  res.setHeader("X-Request-Id", ctx.requestId);
  ctx.span = startRequestSpan(req.method ?? "GET", req.headers);
  // "close" rather than "finish": a client that goes away mid-request (a submit may still be charged) gets
  // its audit line too, with nginx's 499 when no answer had started.
  res.once("close", () => {
    const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
    const record = finishRecord(ctx, req.method ?? "GET", status, deps.clock.monotonicMs());
    deps.events.requestFinished(record);
    endRequestSpan(ctx.span, record);
  });
  runInSpan(ctx.span, next);
}

/** Everything but the governed endpoints (see governedRoutes.ts). */
function expressApp(
  deps: AppDeps,
  fail: (err: unknown, req: IncomingMessage, res: ServerResponse) => void,
): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    begin(deps, req, res, next);
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

  // APIXO's calls back for callback-mode tasks: no gateway key; the unguessable token is the credential.
  app.post("/callbacks/apixo/:token", (req, res) => deps.callbacks.receive(req, res));

  const passthrough = passthroughHandler(deps);
  app.use(async (req, res, next) => {
    const ctx = deps.contexts.get(req);
    if (!isAllowedPath(req.url, ctx.snapshot.config.server.allowedPaths)) {
      next();
      return;
    }
    authenticate(ctx, req);
    await passthrough(req, res);
  });

  app.use((req) => {
    // The path is quoted only when it is plain and short: a message never echoes arbitrary bytes.
    const path = PLAIN_PATH.test(req.path) ? ` ${req.path}` : "";
    throw new GatewayError(
      "NOT_FOUND",
      `No such endpoint: ${req.method}${path}. The gateway serves generateTask, statusTask and current-balance.`,
    );
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    fail(err, req, res);
  });
  return app;
}

const PLAIN_PATH = /^[\x21-\x7e]{1,200}$/;

/** The one way a request fails: counted, logged if it is a fault, and answered in the error envelope. */
function failRequest(deps: AppDeps, err: unknown, req: IncomingMessage, res: ServerResponse): void {
  const ctx = deps.contexts.get(req);
  if (err instanceof ClientClosedRequest) {
    // Expected, not a fault: nothing was reserved or forwarded (the body never completed), and no one is left to
    // answer. Quiet when the server already answered (a timeout or parse error, publicServer.ts).
    if (!res.headersSent) {
      deps.logger.info(
        { requestId: ctx.requestId, status: CLIENT_CLOSED_REQUEST, event: "client_closed_request" },
        "client closed the connection before its request was complete",
      );
    }
    res.destroy();
    return;
  }
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
  const body = JSON.stringify(errorEnvelope(error, ctx.requestId));
  const headers: Record<string, string> = {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
  };
  if (error.retryAfterSec !== undefined) headers["Retry-After"] = String(error.retryAfterSec);
  res.writeHead(error.status, headers);
  res.end(body);
}

/** Errors that are a decision about the client's request, counted as rejections by reason. */
const REJECTION_REASONS: Partial<Record<ErrorType, RejectionReason>> = {
  UNAUTHENTICATED: "unauthenticated",
  MODEL_NOT_ALLOWED: "model_not_allowed",
  INVALID_REQUEST: "invalid_request",
  PAYLOAD_TOO_LARGE: "invalid_request",
  UNSUPPORTED_MEDIA_TYPE: "invalid_request",
  RATE_LIMITED: "rate_limited",
  CONCURRENCY_LIMITED: "concurrency_limited",
  SPEND_CAP_EXCEEDED: "spend_cap",
  // Shed before anything was reserved; the load-shedding alert and panel count these.
  OVERLOADED: "overloaded",
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
