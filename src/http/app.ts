import { FEATURE_HEADER, USER_HEADER } from "../routes/attribution.js";
import type { Agent, IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import express, { type NextFunction, type Request, type Response } from "express";
import { ClientClosedRequest } from "../errors/clientClosed.js";
import { GatewayError, toGatewayError, type ErrorType } from "../errors/catalog.js";
import { authenticate } from "../routes/authenticate.js";
import { balanceRoute } from "../routes/balance.js";
import { chooseRequestId, newContext, type RequestContext } from "../routes/context.js";
import type { RouteDeps } from "../routes/deps.js";
import { jsonReply, type Reply } from "../routes/reply.js";
import { statusRoute } from "../routes/status.js";
import { submitRoute } from "../routes/submit.js";
import type { RejectionReason } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import type { Tracer } from "../telemetry/tracer.js";
import type { Snapshot } from "../tenants/snapshot.js";
import { readBody } from "./body.js";
import { callbackRoute } from "./callbackRoute.js";
import { matchGovernedRoute, originFormOf, type GovernedRoute, type RouteMatch } from "./governedRoutes.js";
import { passthrough } from "./passthrough.js";
import { requestProblem } from "./protocolErrors.js";
import { writeError, writeReply } from "./reply.js";

export interface AppDeps extends RouteDeps {
  readonly snapshot: () => Snapshot;
  readonly readiness: () => Promise<{ ready: boolean; reason?: string }>;
  readonly logger: Logger;
  readonly tracer: Tracer;
  /** The keep-alive pool to APIXO, shared with the passthrough of allowed paths. */
  readonly agent: Agent | HttpsAgent;
  readonly upstreamBaseUrl: string;
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
const PROBE_PATHS = new Set(["/healthz", "/readyz"]);

/** The path of a request target without its query (absolute-form targets: their path). */
function pathOf(url: string | undefined): string {
  const target = url === undefined || url.startsWith("/") ? (url ?? "/") : (originFormOf(url) ?? "/");
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}

/**
 * The public port. A request's way through reads top to bottom:
 * begin (context, request id, span, audit line at the end) -> governed endpoint? (authenticate, read the body,
 * the route's named steps, one writer for its reply) -> otherwise express (health, callbacks, passthrough,
 * not found) -> errors, all in one envelope.
 */
export function createApp(deps: AppDeps): PublicApp {
  const routes = { submit: submitRoute(deps), status: statusRoute(deps), balance: balanceRoute(deps) };
  /** Only for `refuse`, which the server calls with Node's objects: every other step is handed the context. */
  const contexts = new WeakMap<ServerResponse, RequestContext>();

  const governed = async (
    ctx: RequestContext,
    route: GovernedRoute,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Reply> => {
    ctx.facts.operation = route.operation;
    if (route.operation !== "balance") ctx.facts.model = route.model;
    authenticate(ctx, req.headers.authorization);
    // Answered already means the server refused the request while its body was arriving (publicServer.ts).
    const clientGone = (): boolean => res.destroyed || res.writableEnded;
    const attribution = { user: req.headers[USER_HEADER], feature: req.headers[FEATURE_HEADER] };
    if (route.operation === "submit") {
      const body = await readBody(req, ctx.snapshot.config.server.bodyLimitBytes);
      const idempotencyKey = req.headers["idempotency-key"];
      return routes.submit(ctx, { model: route.model, body, idempotencyKey, attribution, clientGone });
    }
    // The governed GETs take no body: whatever a client sent along is drained and dropped, never forwarded.
    req.resume();
    if (route.operation === "status") {
      return routes.status(ctx, { model: route.model, taskId: route.taskId, clientGone });
    }
    return routes.balance(ctx, { attribution, clientGone });
  };

  const begin = (req: IncomingMessage, res: ServerResponse): RequestContext => {
    const path = pathOf(req.url);
    // Health probes answer orchestrators, not clients: no span, no request metrics (their audit line only).
    const probe = PROBE_PATHS.has(path);
    const ctx = newContext({
      requestId: chooseRequestId(req.headers["x-request-id"]),
      method: req.method ?? "GET",
      startedMs: deps.clock.monotonicMs(),
      snapshot: deps.snapshot(),
      path,
      probe,
    });
    contexts.set(res, ctx);
    res.setHeader("X-Request-Id", ctx.requestId);
    if (!probe) {
      ctx.span = deps.tracer.requestSpan({
        method: ctx.method,
        path,
        headers: req.headers,
        localPort: req.socket.localPort,
        remoteAddress: req.socket.remoteAddress,
      });
    }
    // "close" rather than "finish": a client that goes away mid-request (a submit may still be charged) gets
    // its audit line too, with nginx's 499 when no answer had started.
    res.once("close", () => {
      const record = ctx.facts;
      record.status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
      record.traceId = deps.tracer.traceId(ctx.span);
      record.durationMs = deps.clock.monotonicMs() - ctx.startedMs;
      deps.events.requestFinished(record);
      deps.tracer.endRequest(ctx.span, record);
    });
    return ctx;
  };

  const fail = (err: unknown, ctx: RequestContext, res: ServerResponse): void => {
    failRequest(deps, err, ctx, res);
  };
  // What a step throws is answered; a throw from the answering itself only closes the connection.
  const run = (ctx: RequestContext, res: ServerResponse, work: () => Promise<Reply>): void => {
    deps.tracer.run(ctx.span, () => {
      work()
        .then(
          (reply) => {
            writeReply(res, ctx, reply);
          },
          (err: unknown) => {
            fail(err, ctx, res);
          },
        )
        .catch((err: unknown) => {
          deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, "request failed");
          res.destroy();
        });
    });
  };

  const app = expressApp(deps, begin, fail);
  return {
    handle: (req, res) => {
      const problem = requestProblem(req);
      const match: RouteMatch =
        problem === undefined ? matchGovernedRoute(req.method, req.url) : { kind: "refused", error: problem };
      if (match.kind === "other") {
        app(req, res);
        return;
      }
      const ctx = begin(req, res);
      run(ctx, res, () =>
        match.kind === "governed" ? governed(ctx, match.route, req, res) : Promise.reject(match.error),
      );
    },
    refuse: (req, res, error) => {
      const ctx = contexts.get(res) ?? begin(req, res);
      run(ctx, res, () => Promise.reject(error));
    },
  };
}

/** Everything but the governed endpoints (see governedRoutes.ts): express, with the context in res.locals. */
function expressApp(
  deps: AppDeps,
  begin: (req: IncomingMessage, res: ServerResponse) => RequestContext,
  fail: (err: unknown, ctx: RequestContext, res: ServerResponse) => void,
): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  const contextOf = (res: Response): RequestContext => res.locals.ctx as RequestContext;

  app.use((req, res, next) => {
    // An absolute-form target (`GET http://host/path`) is served by its path and query only.
    if (!req.url.startsWith("/")) req.url = originFormOf(req.url) ?? "/";
    const ctx = begin(req, res);
    res.locals.ctx = ctx;
    deps.tracer.run(ctx.span, next);
  });

  app.get("/healthz", (_req, res) => {
    writeReply(res, contextOf(res), jsonReply(200, { status: "ok" }));
  });
  app.get("/readyz", async (_req, res) => {
    const readiness = await deps.readiness();
    const body = { status: readiness.ready ? "ready" : "not_ready", ...readiness };
    writeReply(res, contextOf(res), jsonReply(readiness.ready ? 200 : 503, body));
  });
  app.post("/callbacks/apixo/:token", (req, res) => callbackRoute(deps.callbacks, contextOf(res), req, res));
  app.use(
    passthrough({
      baseUrl: deps.upstreamBaseUrl,
      agent: deps.agent,
      timeoutMs: deps.snapshot().config.upstream.timeoutMs,
      contextOf,
      allowedPaths: () => deps.snapshot().config.server.allowedPaths,
      fail: (err, _req, res) => {
        fail(err, contextOf(res), res);
      },
      monotonicMs: () => deps.clock.monotonicMs(),
    }),
  );

  app.use((req) => {
    // The path is quoted only when it is plain and short: a message never echoes arbitrary bytes.
    const path = PLAIN_PATH.test(req.path) ? ` ${req.path}` : "";
    // Operators look here first: say where metrics are (never served on the public port, see docs/observability.md).
    const hint =
      req.path === "/metrics"
        ? " Metrics are served on the metrics port (server.metricsPort, default 9464), not on this public port."
        : "";
    throw new GatewayError(
      "NOT_FOUND",
      `No such endpoint: ${req.method}${path}. The gateway serves generateTask, statusTask and current-balance.${hint}`,
    );
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    fail(err, contextOf(res), res);
  });
  return app;
}

const PLAIN_PATH = /^[\x21-\x7e]{1,200}$/;

/** The one way a request fails: counted, logged if it is a fault, and answered in the error envelope. */
function failRequest(deps: AppDeps, err: unknown, ctx: RequestContext, res: ServerResponse): void {
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
  ctx.facts.errorType = error.type;
  const reason = REJECTION_REASONS[error.type];
  if (reason !== undefined) deps.events.rejected({ tenant: ctx.policy?.tenant.id, reason });
  if (error.type === "INTERNAL") {
    deps.logger.error({ requestId: ctx.requestId, err: error.cause }, "internal error");
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeError(res, ctx, error);
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
