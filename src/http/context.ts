import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Span } from "@opentelemetry/api";
import type { ErrorType } from "../errors/catalog.js";
import type { TenantPolicy } from "../tenants/policy.js";
import type { Snapshot } from "../tenants/snapshot.js";
import type { OperationLabel } from "../telemetry/events.js";

/** What the gateway learns about one request on its way through; read at the end for the audit line. */
export interface RequestContext {
  readonly requestId: string;
  readonly startedMs: number;
  /** The config in force when the request arrived; a reload mid-request does not change it. */
  readonly snapshot: Snapshot;
  operation: OperationLabel;
  policy: TenantPolicy | undefined;
  model: string | undefined;
  taskId: string | undefined;
  upstreamMs: number;
  costMicros: number | undefined;
  refundedMicros: number | undefined;
  taskState: string | undefined;
  failCode: string | undefined;
  errorType: ErrorType | undefined;
  readonly decisions: string[];
  /** The request's server span; undefined when tracing is off. */
  span: Span | undefined;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo the client's id when it is safe to log and to put in a header; otherwise make one. */
export function chooseRequestId(offered: string | string[] | undefined): string {
  return typeof offered === "string" && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}

/** Per-app registry of contexts, keyed by the request object, so nothing is attached to Node's objects. */
export class Contexts {
  private readonly map = new WeakMap<IncomingMessage, RequestContext>();

  create(req: IncomingMessage, snapshot: Snapshot, startedMs: number): RequestContext {
    const context: RequestContext = {
      requestId: chooseRequestId(req.headers["x-request-id"]),
      startedMs,
      snapshot,
      operation: "other",
      policy: undefined,
      model: undefined,
      taskId: undefined,
      upstreamMs: 0,
      costMicros: undefined,
      refundedMicros: undefined,
      taskState: undefined,
      failCode: undefined,
      errorType: undefined,
      decisions: [],
      span: undefined,
    };
    this.map.set(req, context);
    return context;
  }

  has(req: IncomingMessage): boolean {
    return this.map.has(req);
  }

  get(req: IncomingMessage): RequestContext {
    const context = this.map.get(req);
    if (context === undefined)
      throw new Error("request context missing: the context middleware must run first");
    return context;
  }

  /** The tenant policy, which authentication guarantees on every governed route. */
  policy(req: IncomingMessage): TenantPolicy {
    const policy = this.get(req).policy;
    if (policy === undefined) throw new Error("tenant policy missing: authenticate must run first");
    return policy;
  }
}
