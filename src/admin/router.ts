import { createHash, timingSafeEqual } from "node:crypto";
import express from "express";
import type { NextFunction, Request, Response } from "express";
import type { Clock } from "../clock.js";
import { GatewayError, errorEnvelope, toGatewayError } from "../errors/catalog.js";
import type { Snapshot } from "../tenants/snapshot.js";
import { chooseRequestId } from "../routes/context.js";
import { StoreUnavailable, type GovernanceStore } from "../limits/store.js";
import type { Logger } from "../telemetry/logger.js";
import { createLedgerRoutes, single } from "./ledgerRoutes.js";
import {
  MAX_HISTORY_DAYS,
  PERIOD_FORMAT,
  ROLLUP_DIMENSIONS,
  findTenant,
  isPeriodName,
  listTenantUsage,
  taskRecord,
  tenantHistory,
  tenantRollup,
  type PeriodChoice,
  type PeriodKind,
  type RollupDimension,
  type UsageDeps,
} from "./usage.js";

export interface AdminRouterDeps {
  readonly store: GovernanceStore;
  /** Read per request, so a reload that sets, changes or removes admin.token applies at once. */
  readonly snapshot: () => Snapshot;
  readonly clock: Clock;
  /** Where INTERNAL errors are logged with their cause; the client only ever sees the request id. */
  readonly logger?: Logger;
}

export const DEFAULT_HISTORY_DAYS = 7;

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

/** The token of an `Authorization: Bearer <token>` header, or undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Constant-time: both sides are hashed to 32 bytes first, so neither content nor length leaks through timing. */
export function adminTokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/** Express's own 4xx errors (e.g. an undecodable %-escape in a path parameter) are the client's fault. */
function clientError(err: unknown): GatewayError | undefined {
  if (err instanceof GatewayError || typeof err !== "object" || err === null || !("status" in err))
    return undefined;
  const { status } = err;
  if (typeof status !== "number" || status < 400 || status > 499) return undefined;
  return new GatewayError("INVALID_REQUEST", "Malformed request: check the URL's escaping.", { cause: err });
}

function parseDays(raw: unknown): number {
  if (raw === undefined) return DEFAULT_HISTORY_DAYS;
  const days = typeof raw === "string" && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > MAX_HISTORY_DAYS) {
    throw new GatewayError(
      "INVALID_REQUEST",
      `Query parameter 'days' must be a whole number from 1 to ${MAX_HISTORY_DAYS} (default ${DEFAULT_HISTORY_DAYS}).`,
    );
  }
  return days;
}

const PERIOD_KINDS: readonly PeriodKind[] = ["day", "month"];

function oneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/**
 * `day=YYYY-MM-DD`, `month=YYYY-MM`, or `period=day|month` for the tenant's current one (default: this month);
 * at most one of the three, so a query never names two periods.
 */
function parsePeriod(query: Request["query"]): PeriodChoice {
  const named = PERIOD_KINDS.flatMap((kind) => {
    const value = single(query[kind], kind);
    return value === undefined ? [] : [{ kind, name: value }];
  });
  const current = single(query.period, "period");
  if (named.length + (current === undefined ? 0 : 1) > 1) {
    throw new GatewayError("INVALID_REQUEST", "Give at most one of 'day', 'month' and 'period'.");
  }
  const [choice] = named;
  if (choice !== undefined) {
    if (!isPeriodName(choice.kind, choice.name)) {
      throw new GatewayError(
        "INVALID_REQUEST",
        `Query parameter '${choice.kind}' must be a calendar ${choice.kind}, ${PERIOD_FORMAT[choice.kind]}.`,
      );
    }
    return choice;
  }
  if (current === undefined) return { kind: "month" };
  if (!oneOf(PERIOD_KINDS, current)) {
    throw new GatewayError("INVALID_REQUEST", "Query parameter 'period' must be 'day' or 'month'.");
  }
  return { kind: current };
}

function parseBy(raw: unknown): RollupDimension | undefined {
  const by = single(raw, "by");
  if (by === undefined || oneOf(ROLLUP_DIMENSIONS, by)) return by;
  throw new GatewayError(
    "INVALID_REQUEST",
    "Query parameter 'by' must be 'user' or 'feature' (default: both).",
  );
}

function unknownTenant(tenantId: string): GatewayError {
  return new GatewayError("NOT_FOUND", `No tenant '${tenantId}' in the current configuration.`);
}

/**
 * The admin API, meant for the metrics/admin port (mounted at `/admin`), never the public one.
 * Every route needs `Authorization: Bearer <admin.token>`; without a configured token the API answers that it is
 * disabled rather than pretending the routes do not exist, so an operator knows what to switch on. Every route
 * reads, except an operator's release of a reservation (src/admin/ledgerRoutes.ts).
 */
export function createAdminRouter(deps: AdminRouterDeps): express.Router {
  const router = express.Router();
  const requestIds = new WeakMap<Request, string>();
  const requestIdOf = (req: Request): string => requestIds.get(req) ?? chooseRequestId(undefined);
  // The config is read per request: a reload applies to the next one.
  const usageDeps = (): UsageDeps => ({ store: deps.store, snapshot: deps.snapshot(), clock: deps.clock });

  router.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = chooseRequestId(req.headers["x-request-id"]);
    requestIds.set(req, requestId);
    res.setHeader("X-Request-Id", requestId);
    // Spend figures are live numbers: no proxy or browser may serve a stale copy.
    res.setHeader("Cache-Control", "no-store");
    const token = deps.snapshot().config.admin.token;
    if (token === undefined) {
      next(
        new GatewayError(
          "NOT_FOUND",
          "The admin API is disabled: set admin.token in the gateway configuration to enable it.",
        ),
      );
      return;
    }
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined || !adminTokenMatches(presented, token)) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="apixo-gateway-admin"');
      next(
        new GatewayError(
          "UNAUTHENTICATED",
          presented === undefined
            ? "Missing admin token: send 'Authorization: Bearer <admin.token>'."
            : "Invalid admin token.",
        ),
      );
      return;
    }
    next();
  });

  router.get("/tenants", async (_req: Request, res: Response) => {
    const tenants = await listTenantUsage(usageDeps());
    res.json({ asOf: new Date(deps.clock.now()).toISOString(), tenants });
  });

  router.get("/tenants/:id/usage", async (req: Request<{ id: string }>, res: Response) => {
    const days = parseDays(req.query.days);
    const history = await tenantHistory(usageDeps(), req.params.id, days);
    if (history === null) throw unknownTenant(req.params.id);
    res.json(history);
  });

  router.get("/tenants/:id/rollup", async (req: Request<{ id: string }>, res: Response) => {
    const choice = parsePeriod(req.query);
    const by = parseBy(req.query.by);
    const rollup = await tenantRollup(usageDeps(), req.params.id, choice, by);
    if (rollup === null) throw unknownTenant(req.params.id);
    res.json(rollup);
  });

  router.get(
    "/tenants/:id/tasks/:taskId",
    async (req: Request<{ id: string; taskId: string }>, res: Response) => {
      const { id, taskId } = req.params;
      const view = usageDeps();
      if (findTenant(view.snapshot, id) === undefined) throw unknownTenant(id);
      const task = await taskRecord(view, id, taskId);
      if (task === null)
        throw new GatewayError("NOT_FOUND", `Tenant '${id}' has no task '${taskId}' in the ledger.`);
      res.json(task);
    },
  );

  router.use(createLedgerRoutes(deps));

  router.use((req: Request, _res: Response, next: NextFunction) => {
    next(
      new GatewayError(
        "NOT_FOUND",
        `No admin endpoint ${req.method} ${req.originalUrl.split("?")[0] ?? ""}; see docs/admin.md.`,
      ),
    );
  });

  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error =
      err instanceof StoreUnavailable
        ? new GatewayError("LIMITS_UNAVAILABLE", "The limit store is unreachable; try again shortly.", {
            cause: err,
          })
        : (clientError(err) ?? toGatewayError(err));
    const requestId = requestIdOf(req);
    if (error.type === "INTERNAL" || error.type === "LIMITS_UNAVAILABLE") {
      deps.logger?.error({ requestId, err: error.cause }, "admin API request failed");
    }
    res.status(error.status).json(errorEnvelope(error, requestId));
  });

  return router;
}
