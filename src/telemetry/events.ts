import type { ErrorType } from "../errors/catalog.js";

export type OperationLabel = "submit" | "status" | "balance" | "callback" | "other";
/** Why an exchange with APIXO failed (`upstream_errors_total{reason}` adds `status_5xx` for APIXO's 5xx). */
export type UpstreamFailure = "timeout" | "connect" | "reset" | "bad_response";
/** Every reason the gateway refuses a request itself; the metrics start each at 0 for every tenant. */
export const REJECTION_REASONS = [
  "rate_limited",
  "concurrency_limited",
  "spend_cap",
  "model_not_allowed",
  "invalid_request",
  "unauthenticated",
  "overloaded",
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];
/** The budget windows a submit is checked against (limits/store.ts CapWindow, in telemetry's own words). */
export const CAP_WINDOWS = ["daily", "monthly", "model_daily", "user_daily"] as const;
export type CapWindowLabel = (typeof CAP_WINDOWS)[number];

/**
 * What the gateway learns about one request on its way through: kept on the request context while it is handled
 * and, unchanged, the body of its audit record. Never a key, a header value or a prompt.
 */
export interface RequestFacts {
  operation: OperationLabel;
  tenant: string | undefined;
  /** The model named in the path, as sent (bounded later for labels). */
  model: string | undefined;
  taskId: string | undefined;
  upstreamMs: number;
  /** Time spent waiting, not working: retry backoff and joining another caller's coalesced upstream call. */
  waitMs: number;
  /** The upstream key's alias the request went out on (never the key). */
  upstream: string | undefined;
  /** The label of the gateway key that authenticated the request (never the key). */
  keyLabel: string | undefined;
  /** X-Gateway-User and X-Gateway-Feature as checked (audit line only: users are never metric labels). */
  endUser: string | undefined;
  feature: string | undefined;
  /**
   * The cap a 402 SPEND_CAP_EXCEEDED refused the request by (the store's `spend_cap` decision's window), so
   * the monthly cap's refusals are told from the daily one's; left out, a refusal counts as the daily cap's.
   */
  capWindow?: CapWindowLabel | undefined;
  /** A status poll answered from the gateway's status cache (hit) or asked of APIXO (miss). */
  cacheStatus: "hit" | "miss" | undefined;
  /** Exchanges with APIXO sent again after a failed try. */
  retries: number;
  /** Charged (or kept charged as an unknown outcome) by this request: set only where money moved. */
  costMicros: number | undefined;
  refundedMicros: number | undefined;
  taskState: string | undefined;
  failCode: string | undefined;
  errorType: ErrorType | undefined;
  readonly decisions: string[];
}

/** Everything the audit log line and the request metrics need: the request's facts, and how it ended. */
export interface RequestRecord extends Readonly<RequestFacts> {
  readonly requestId: string;
  /** The W3C trace id of the request's server span; undefined when tracing is off. */
  readonly traceId: string | undefined;
  readonly method: string;
  /** The request path without its query (never the query: it may carry ids the client considers private). */
  readonly path: string;
  /** /healthz and /readyz: kept out of the request metrics and traces (their own audit line only). */
  readonly probe: boolean;
  readonly status: number;
  readonly durationMs: number;
}

/**
 * What happens in the gateway, as events. The HTTP layer and the governor report here; metrics, traces and
 * the audit log subscribe. Keeping them behind one interface keeps the request path free of telemetry code.
 */
export interface GatewayEvents {
  requestFinished(record: RequestRecord): void;
  upstreamFinished(event: {
    readonly model: string | undefined;
    readonly operation: OperationLabel;
    readonly durationMs: number;
    readonly status: number | undefined;
    readonly failure: UpstreamFailure | undefined;
  }): void;
  taskSubmitted(event: {
    readonly tenant: string;
    /** The upstream key's alias the task was sent on. */
    readonly upstream: string;
    readonly model: string;
    readonly costMicros: number;
    /** X-Gateway-Feature of the submit, as checked (bounded later for labels). */
    readonly feature?: string | undefined;
  }): void;
  taskFinished(event: {
    readonly tenant: string;
    /** The upstream key's alias the task ran on (undefined for an expiry noticed without its record). */
    readonly upstream: string | undefined;
    readonly model: string;
    readonly state: "success" | "failed" | "expired";
    readonly failCode: string | undefined;
    readonly refundedMicros: number;
    readonly costTimeMs: number | undefined;
    /** X-Gateway-Feature of the task's submit (its ledger record's `feature`), so a refund finds its feature. */
    readonly feature?: string | undefined;
  }): void;
  rejected(event: { readonly tenant: string | undefined; readonly reason: RejectionReason }): void;
  storeCall(event: { readonly operation: string; readonly durationMs: number; readonly ok: boolean }): void;
  configReloaded(event: { readonly ok: boolean }): void;
  /** A callback delivery to the tenant's URL finished (or was refused before delivery). */
  callbackFinished(event: {
    readonly tenant: string | undefined;
    readonly outcome: "delivered" | "retried" | "failed" | "rejected";
    readonly durationMs: number;
  }): void;
  /** A status poll answered from (hit) or past (miss) the gateway's status cache. */
  statusCache(event: { readonly hit: boolean }): void;
  /** The circuit breaker for an upstream key (by alias) changed state. */
  upstreamCircuit(event: {
    readonly upstream: string;
    readonly state: "closed" | "half_open" | "open";
  }): void;
  /** APIXO refused a request because the upstream account hit its own limits. */
  accountLimited(event: { readonly upstream: string; readonly reason: "rate" | "concurrency" }): void;
  /** A submit's reservation got its one fate (CONTRACTS.md section 5). */
  reservationFate(event: {
    readonly tenant: string;
    readonly fate: "charged" | "released" | "unknown";
  }): void;
  /** The write-behind journal changed: its depth now, and writes dropped by this change. */
  ledgerJournal(event: { readonly depth: number; readonly dropped: number }): void;
  /** The orphan sweep marked reservations nobody settled as unknown outcomes. */
  ledgerOrphans(event: { readonly tenant: string; readonly count: number }): void;
}

export const noEvents: GatewayEvents = {
  requestFinished: () => undefined,
  upstreamFinished: () => undefined,
  taskSubmitted: () => undefined,
  taskFinished: () => undefined,
  rejected: () => undefined,
  storeCall: () => undefined,
  configReloaded: () => undefined,
  callbackFinished: () => undefined,
  statusCache: () => undefined,
  upstreamCircuit: () => undefined,
  accountLimited: () => undefined,
  reservationFate: () => undefined,
  ledgerJournal: () => undefined,
  ledgerOrphans: () => undefined,
};

/** Fans one event out to several subscribers (metrics, audit log, traces). */
export function combineEvents(...subscribers: GatewayEvents[]): GatewayEvents {
  return {
    requestFinished: (e) => subscribers.forEach((s) => s.requestFinished(e)),
    upstreamFinished: (e) => subscribers.forEach((s) => s.upstreamFinished(e)),
    taskSubmitted: (e) => subscribers.forEach((s) => s.taskSubmitted(e)),
    taskFinished: (e) => subscribers.forEach((s) => s.taskFinished(e)),
    rejected: (e) => subscribers.forEach((s) => s.rejected(e)),
    storeCall: (e) => subscribers.forEach((s) => s.storeCall(e)),
    configReloaded: (e) => subscribers.forEach((s) => s.configReloaded(e)),
    callbackFinished: (e) => subscribers.forEach((s) => s.callbackFinished(e)),
    statusCache: (e) => subscribers.forEach((s) => s.statusCache(e)),
    upstreamCircuit: (e) => subscribers.forEach((s) => s.upstreamCircuit(e)),
    accountLimited: (e) => subscribers.forEach((s) => s.accountLimited(e)),
    reservationFate: (e) => subscribers.forEach((s) => s.reservationFate(e)),
    ledgerJournal: (e) => subscribers.forEach((s) => s.ledgerJournal(e)),
    ledgerOrphans: (e) => subscribers.forEach((s) => s.ledgerOrphans(e)),
  };
}
