import type { Attribution } from "./budget.js";

/**
 * The ledger's records and requests: what became of each reservation and task (store.ts re-exports them; the
 * Ledger interface is there).
 */

/** An upstream answer kept for replay (Idempotency-Key): status, the headers worth replaying, exact body bytes. */
export interface StoredAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

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
  /** The W3C traceparent of the submit's server span (tracing on), so a poll's span can link to it. */
  readonly traceparent?: string;
  /** X-Gateway-User of the submit. */
  readonly user?: string;
  /** X-Gateway-Feature of the submit. */
  readonly feature?: string;
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
  /** See TaskRecord.traceparent. */
  readonly traceparent?: string;
  /** Kept on the record; with no reservation in the store (fail-open) the charge is attributed by it. */
  readonly attribution: Attribution;
}

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
  /** Net spend of the day asked for. */
  readonly spentMicros: number;
  /** Net spend of that day's calendar month. */
  readonly monthSpentMicros: number;
  /** Net spend of that day by the user asked for (0 when none was). */
  readonly userSpentMicros: number;
  readonly inFlight: number;
  /** Reservations kept as unknown outcomes (all days). */
  readonly unknownOutcomes: number;
}

/** What a reservation that has not become a task is: in progress (`open`) or kept as `unknown` outcome. */
export type ReservationState = "open" | "unknown";

/**
 * A reservation the store still holds: admitted, and neither charged to a task nor released. `unknown` ones
 * may have reached APIXO (a timeout or reset after sending, an unreadable 200, a gateway that died): they
 * stay charged until an operator releases them; their in-flight slot ages out after the task max age.
 */
export interface ReservationRecord {
  readonly tenantId: string;
  readonly reservationId: string;
  readonly day: string;
  readonly model: string;
  readonly costMicros: number;
  readonly upstream: string;
  readonly idempotencyKey: string | undefined;
  /** Holds a slot in the upstream account's in-flight set too. */
  readonly account: boolean;
  readonly admittedAtMs: number;
  readonly state: ReservationState;
  /** Why the outcome is unknown (`timeout`, `reset`, `bad_response`, `orphaned`, ...). */
  readonly reason: string | undefined;
  readonly user: string | undefined;
  readonly feature: string | undefined;
}

export interface ReleaseRequest {
  readonly tenantId: string;
  readonly reservationId: string;
  /**
   * The days the reservation may have been charged to (the admission's day window): the store takes the
   * reservation's own day from its record, and refuses a record whose day is not among these.
   */
  readonly days: readonly string[];
  /** Dropped too when a request of this reservation holds it. */
  readonly idempotencyKey?: string;
  /** Frees the reservation's slot in this upstream account's in-flight set too. */
  readonly account?: { readonly upstream: string };
}

export interface ReleaseResult {
  /** True only for the call that gave the charge and slot back; false when there was nothing (left) to release. */
  readonly released: boolean;
  readonly reservation: ReservationRecord | null;
}

/** A submit that may have reached APIXO and has no known answer: its reservation is kept as `unknown`. */
export interface UnknownOutcome {
  readonly tenantId: string;
  readonly reservationId: string;
  readonly reason: string;
  /**
   * What to charge when the store holds no reservation (the admission never ran: fail-open): the outcome is
   * charged all the same, so an unknown outcome costs the same whatever failed before it.
   */
  readonly charge: {
    readonly day: string;
    readonly model: string;
    readonly costMicros: number;
    readonly upstream: string;
    readonly attribution: Attribution;
  };
}

/** The facts of one tenant-day and its open state, read in one atomic step for the ledger check. */
export interface LedgerAudit {
  readonly day: DaySpend;
  /** Tasks charged to the day (the day's task index), with what their ledger records say. */
  readonly tasks: readonly {
    readonly taskId: string;
    /** null: the index names a task whose record has expired (ledgerTtlHours). */
    readonly record: TaskRecord | null;
  }[];
  /** Every reservation the store holds for the tenant (all days). */
  readonly reservations: readonly ReservationRecord[];
  /** In-flight slots: `r:<reservationId>` or `t:<taskId>`, with admission time (store clock). */
  readonly inFlight: readonly { readonly member: string; readonly atMs: number }[];
  /** Pending state of the tasks named by `t:` slots (null: no record). */
  readonly slotTasks: Readonly<Record<string, TaskRecord | null>>;
  /** The store's clock when it read all this. */
  readonly nowMs: number;
}
