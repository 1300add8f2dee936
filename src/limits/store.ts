/**
 * The governance store: rate limits, in-flight caps, daily spend, the task ledger and idempotency records.
 * Two implementations pass the same contract suite (test/integration/store.contract.ts): Redis (shared by
 * replicas, one Lua script per decision, time from Redis TIME) and in-memory (single process, injected clock).
 *
 * Expected outcomes (denied, duplicate, not found) are values; an unreachable store is a thrown StoreUnavailable.
 * Money is integer micro-USD. Every key of one tenant is built by `keys.ts`, with the hash tag `{tenantId}`.
 */

export type Operation = "submit" | "status" | "balance";

/** One token bucket: `name` is unique within the tenant, e.g. "submit", "status", "submit:flux2". */
export interface BucketSpec {
  readonly name: string;
  readonly ratePerSec: number;
  readonly burst: number;
}

/** Header values (IETF RateLimit fields) for the bucket that applied: the tightest one. */
export interface RateInfo {
  /** The bucket's burst. */
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Whole seconds until the bucket is full again. */
  readonly resetSec: number;
}

/**
 * The calendar days around "now" in the tenant's time zone, computed by the gateway from its own clock; the
 * store picks one of them by its own time (Redis TIME), so replicas with skewed clocks agree on the day.
 */
export interface DayWindow {
  readonly yesterday: string; // "2026-11-21"
  readonly today: string;
  readonly tomorrow: string;
  readonly startTodayMs: number;
  readonly startTomorrowMs: number;
}

/**
 * The account-wide limits of one upstream key (APIXO's own per-account limits), shared by every tenant that
 * uses the key and checked after the tenant's own limits in the same round trip. Keys: `{acct:<upstream>}`.
 */
export interface AccountLimits {
  /** The upstream key's alias (never the key). */
  readonly upstream: string;
  /** null: no account-wide request bucket. */
  readonly bucket: BucketSpec | null;
  /** null: no account-wide in-flight task cap (submit only). */
  readonly maxInFlight: number | null;
}

/** The account, not the tenant, is at its limit: nothing was taken or reserved. */
export interface AccountDenial {
  readonly kind: "account_limited";
  readonly upstream: string;
  readonly reason: "rate" | "concurrency";
  readonly retryAfterSec: number;
  readonly rate: RateInfo;
}

export interface SubmitRequest {
  readonly tenantId: string;
  readonly model: string;
  /** Every bucket must hold a token; all are taken only if every check passes. */
  readonly buckets: readonly BucketSpec[];
  /** null: no in-flight cap. */
  readonly maxInFlight: number | null;
  /** null: no daily cap. */
  readonly capMicros: number | null;
  readonly costMicros: number;
  readonly days: DayWindow;
  /** Chosen by the gateway (random); names the in-flight slot and the reservation until a taskId is known. */
  readonly reservationId: string;
  /** In-flight entries older than this are expired (slot released, charge kept) before counting. */
  readonly taskMaxAgeMs: number;
  readonly idempotency?: { readonly key: string; readonly ttlSec: number };
  /** Checked after every tenant check; its in-flight slot is named by `reservationId` until settled. */
  readonly account?: AccountLimits;
}

/** An upstream answer kept for replay (Idempotency-Key): status, the headers worth replaying, exact body bytes. */
export interface StoredAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

export interface ExpiredTask {
  readonly taskId: string;
  readonly model: string;
}

export type SubmitDecision =
  | {
      readonly kind: "admitted";
      readonly day: string;
      /** Spend of `day` including this reservation. */
      readonly spentMicros: number;
      readonly rate: RateInfo;
      readonly expired: readonly ExpiredTask[];
    }
  | {
      readonly kind: "rate_limited";
      readonly bucket: string;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    }
  | {
      readonly kind: "concurrency_limited";
      readonly inFlight: number;
      readonly limit: number;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    }
  | {
      readonly kind: "spend_cap";
      readonly capMicros: number;
      readonly spentMicros: number;
      readonly costMicros: number;
      readonly rate: RateInfo;
    }
  /** The idempotency key was used before and its answer is stored: replay it, nothing taken or reserved. */
  | { readonly kind: "replay"; readonly answer: StoredAnswer }
  /** The idempotency key is held by a request still in progress: wait for its answer. */
  | { readonly kind: "in_progress" }
  | AccountDenial;

export type TerminalState = "success" | "failed";
export type LedgerState = "pending" | TerminalState | "expired";

export interface TaskRecord {
  readonly taskId: string;
  readonly tenantId: string;
  readonly model: string;
  readonly costMicros: number;
  /** The tenant-local day the charge belongs to; a refund goes back to this day. */
  readonly day: string;
  readonly submittedAtMs: number;
  readonly reservationId: string;
  readonly upstream: string;
  readonly state: LedgerState;
  readonly refundedMicros: number;
  readonly failCode?: string;
}

export interface NewTask {
  readonly tenantId: string;
  readonly taskId: string;
  readonly model: string;
  readonly costMicros: number;
  readonly day: string;
  readonly reservationId: string;
  readonly upstream: string;
  readonly ttlSec: number;
  readonly idempotency?: { readonly key: string; readonly ttlSec: number; readonly answer: StoredAnswer };
}

export type SimpleDecision =
  | { readonly kind: "admitted"; readonly rate: RateInfo }
  | {
      readonly kind: "rate_limited";
      readonly bucket: string;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    };

export type StatusDecision =
  | {
      readonly kind: "admitted";
      readonly rate: RateInfo;
      readonly task: TaskRecord | null;
      /** APIXO's terminal answer for the caller's task, stored when it settled (the status cache). */
      readonly cached?: StoredAnswer;
    }
  | AccountDenial
  | {
      readonly kind: "rate_limited";
      readonly bucket: string;
      readonly retryAfterSec: number;
      readonly rate: RateInfo;
    };

export interface SettleRequest {
  readonly tenantId: string;
  readonly taskId: string;
  readonly state: TerminalState;
  readonly failCode?: string;
  /** Whether a failed task's cost goes back to its day (the refund policy, decided by the caller). */
  readonly refund: boolean;
  /**
   * APIXO's terminal answer, kept on the ledger record (same TTL) for the status cache; stored also when the
   * task had already settled without one.
   */
  readonly answer?: StoredAnswer;
  /** Frees the task's slot in this upstream account's in-flight set too. */
  readonly account?: { readonly upstream: string };
  /**
   * The charge day from the ledger record the caller already read (admitStatus returns it): spares the store
   * a read. The store refuses a day that does not match its record rather than refund to the wrong day.
   */
  readonly day?: string;
}

export interface SettleResult {
  /** True only for the one call that moved the task to a terminal state. */
  readonly settled: boolean;
  readonly refundedMicros: number;
  /** True only for the one call that freed the in-flight slot. */
  readonly slotReleased: boolean;
  readonly task: TaskRecord | null;
}

export interface DaySpend {
  readonly day: string;
  readonly spentMicros: number;
  readonly refundedMicros: number;
  /** model -> net spend (charges minus refunds) of that day. */
  readonly byModel: Readonly<Record<string, number>>;
}

export interface TenantSnapshot {
  readonly tenantId: string;
  readonly spentMicros: number;
  readonly inFlight: number;
}

export interface GovernanceStore {
  /** One round trip: idempotency, buckets, in-flight cap and spend cap; takes/reserves only if all pass. */
  admitSubmit(request: SubmitRequest): Promise<SubmitDecision>;
  /** APIXO refused the submit: give back the reservation and the slot, drop the idempotency hold. */
  releaseReservation(request: {
    readonly tenantId: string;
    readonly reservationId: string;
    readonly day: string;
    readonly model: string;
    readonly costMicros: number;
    readonly idempotencyKey?: string;
    /** Frees the reservation's slot in this upstream account's in-flight set too. */
    readonly account?: { readonly upstream: string };
  }): Promise<void>;
  /** APIXO accepted: the ledger record, the slot renamed to the task, the idempotent answer stored. */
  recordTask(task: NewTask): Promise<void>;
  /**
   * One round trip: the status bucket and the caller's ledger record of `taskId` (null if not the caller's),
   * with its cached terminal answer. The account bucket is taken only when APIXO will be asked: the task is
   * the caller's and has no cached answer.
   */
  admitStatus(request: {
    readonly tenantId: string;
    readonly buckets: readonly BucketSpec[];
    readonly taskId: string;
    readonly account?: AccountLimits;
  }): Promise<StatusDecision>;
  admitSimple(request: {
    readonly tenantId: string;
    readonly buckets: readonly BucketSpec[];
  }): Promise<SimpleDecision>;
  /** Exactly once per task, however many callers see the terminal state. */
  settleTask(request: SettleRequest): Promise<SettleResult>;
  /** Expire in-flight entries older than `maxAgeMs` (slot released, charge kept). */
  sweepExpired(tenantId: string, maxAgeMs: number): Promise<readonly ExpiredTask[]>;
  getTask(tenantId: string, taskId: string): Promise<TaskRecord | null>;
  spendOfDays(tenantId: string, days: readonly string[]): Promise<readonly DaySpend[]>;
  snapshot(tenantId: string, day: string): Promise<TenantSnapshot>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The store could not be reached or did not answer in time; the caller applies the failure policy. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailable";
  }
}
