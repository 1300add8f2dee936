import { randomUUID } from "node:crypto";
import type { RequestRecord } from "../telemetry/events.js";
import type { TraceSpan } from "../telemetry/tracer.js";
import type { TenantPolicy } from "../tenants/policy.js";
import type { Snapshot } from "../tenants/snapshot.js";

/** A request's record while it is handled: the steps fill in its facts, the HTTP layer how it ended. */
export type LiveRecord = { -readonly [K in keyof RequestRecord]: RequestRecord[K] };

/**
 * One request on its way through, created once by the HTTP layer and passed explicitly to every step. Its
 * `facts` are the audit record itself (telemetry/events.ts RequestRecord), completed when the request ends, and
 * the response headers decided along the way (RateLimit-*, X-Budget-Remaining-Usd) go out with whatever the
 * request is answered.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly method: string;
  /** Monotonic ms at arrival. */
  readonly startedMs: number;
  /** The config in force when the request arrived; a reload mid-request does not change it. */
  readonly snapshot: Snapshot;
  /**
   * One object for the whole request, not copied into a record at its end: a copy per request was the
   * largest source of objects that outlived the young generation in a heap profile (docs/benchmarks.md).
   */
  readonly facts: LiveRecord;
  readonly headers: Record<string, string>;
  /** Set by authenticate. */
  policy: TenantPolicy | undefined;
  /** The request's server span; undefined when tracing is off. */
  span: TraceSpan | undefined;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo the client's id when it is safe to log and to put in a header; otherwise make one. */
export function chooseRequestId(offered: string | string[] | undefined): string {
  return typeof offered === "string" && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}

export function newContext(init: {
  readonly requestId: string;
  readonly method: string;
  readonly startedMs: number;
  readonly snapshot: Snapshot;
  /** The request path without its query, and whether it is a health probe (defaults: "", false). */
  readonly path?: string;
  readonly probe?: boolean;
}): RequestContext {
  return {
    requestId: init.requestId,
    method: init.method,
    startedMs: init.startedMs,
    snapshot: init.snapshot,
    facts: {
      operation: "other",
      tenant: undefined,
      model: undefined,
      taskId: undefined,
      upstreamMs: 0,
      waitMs: 0,
      upstream: undefined,
      keyLabel: undefined,
      endUser: undefined,
      feature: undefined,
      cacheStatus: undefined,
      retries: 0,
      costMicros: undefined,
      refundedMicros: undefined,
      taskState: undefined,
      failCode: undefined,
      errorType: undefined,
      decisions: [],
      capWindow: undefined,
      requestId: init.requestId,
      traceId: undefined,
      method: init.method,
      path: init.path ?? "",
      probe: init.probe ?? false,
      // How the request ended: set by the HTTP layer when it does.
      status: 0,
      durationMs: 0,
    },
    headers: { "X-Request-Id": init.requestId },
    policy: undefined,
    span: undefined,
  };
}

/** The tenant policy, which authentication guarantees on every governed route. */
export function policyOf(ctx: RequestContext): TenantPolicy {
  if (ctx.policy === undefined) throw new Error("tenant policy missing: authenticate must run first");
  return ctx.policy;
}
