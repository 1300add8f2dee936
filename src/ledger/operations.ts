import { microsToUsd } from "../apixo/prices.js";
import type { Clock } from "../clock.js";
import { accountSlotOf } from "../tenants/policy.js";
import type { GatewayConfig, TenantConfig } from "../config/schema.js";
import { addDays, localDay } from "../limits/days.js";
import type { Ledger, ReservationRecord, ReservationState } from "../limits/store.js";
import { checkLedger, type LedgerCheck } from "./check.js";
import { orphanAfterMs } from "./sweeper.js";

/**
 * What an operator does with the ledger, shared by `apixo-gateway ledger` and the admin API so both choose the
 * same days, apply the same orphan age and release with the same keys. Money is USD here (the edge).
 */

export interface LedgerOpsDeps {
  readonly store: Pick<Ledger, "audit" | "reservations" | "releaseReservation">;
  readonly config: GatewayConfig;
  readonly clock: Clock;
}

export interface LedgerCheckView {
  readonly tenantId: string;
  readonly day: string;
  readonly ok: boolean;
  /** One sentence per broken invariant (src/ledger/check.ts), naming the ids involved. */
  readonly problems: readonly string[];
  readonly figures: {
    readonly spentUsd: number;
    readonly chargedUsd: number;
    readonly refundedUsd: number;
    readonly unknownUsd: number;
    readonly openUsd: number;
    readonly tasks: number;
    /** Tasks of the day whose ledger record expired (ledgerTtlHours): the day's sums cannot be verified. */
    readonly unverifiableTasks: number;
    readonly inFlight: number;
    readonly unknownReservations: number;
  };
}

export interface ReservationView {
  readonly reservationId: string;
  readonly tenantId: string;
  /** The tenant-local day the reservation is charged to. */
  readonly day: string;
  readonly model: string;
  readonly costUsd: number;
  /** The upstream key's alias, never the key. */
  readonly upstream: string;
  readonly state: ReservationState;
  /** Why the outcome is unknown (`timeout`, `reset`, `bad_response`, `orphaned`, ...); null while open. */
  readonly reason: string | null;
  readonly admittedAt: string;
  /** Whole seconds since admission (admission time is the store's clock). */
  readonly ageSeconds: number;
}

export type ReleaseOutcome =
  | {
      readonly released: true;
      readonly reservation: ReservationView;
      /** The upstream account's in-flight slot was given back too. */
      readonly accountSlotFreed: boolean;
      /** The reservation's Idempotency-Key hold was dropped: a retry with that key starts a new task. */
      readonly idempotencyKeyFreed: boolean;
    }
  | { readonly released: false };

/** Reservation ids are chosen by the gateway (UUIDs); anything else is refused before it reaches a message. */
const RESERVATION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const DAY_NAME = /^\d{4}-\d{2}-\d{2}$/;

export function isReservationId(value: string): boolean {
  return RESERVATION_ID.test(value);
}

/** "YYYY-MM-DD" naming a real calendar day (2026-02-30 is refused). */
export function isDayName(value: string): boolean {
  return DAY_NAME.test(value) && addDays(value, 0) === value;
}

export function tenantOf(config: GatewayConfig, tenantId: string): TenantConfig | undefined {
  return config.tenants.find((t) => t.id === tenantId);
}

/** The tenant's local today. */
export function todayOf(tenant: TenantConfig, clock: Clock): string {
  return localDay(tenant.timeZone, clock.now());
}

/**
 * The days a check covers when none is named: the tenant's local yesterday and today, so a check run just after
 * the tenant's midnight still covers the day that just closed.
 */
export function defaultCheckDays(tenant: TenantConfig, clock: Clock): readonly string[] {
  const today = todayOf(tenant, clock);
  return [addDays(today, -1), today];
}

/** The orphan age the gateway's own sweep uses (src/ledger/sweeper.ts), from the config's upstream timeout. */
export function defaultOrphanAfterMs(config: GatewayConfig): number {
  return orphanAfterMs(config.upstream.timeoutMs);
}

function checkView(check: LedgerCheck): LedgerCheckView {
  const f = check.figures;
  return {
    tenantId: check.tenantId,
    day: check.day,
    ok: check.ok,
    problems: check.problems,
    figures: {
      spentUsd: microsToUsd(f.spentMicros),
      chargedUsd: microsToUsd(f.chargedMicros),
      refundedUsd: microsToUsd(f.refundedMicros),
      unknownUsd: microsToUsd(f.unknownMicros),
      openUsd: microsToUsd(f.openMicros),
      tasks: f.tasks,
      unverifiableTasks: f.unverifiableTasks,
      inFlight: f.inFlight,
      unknownReservations: f.unknownReservations,
    },
  };
}

/** The ledger check of one tenant-day, from one atomic read of the store. */
export async function checkTenantDay(
  deps: LedgerOpsDeps,
  tenantId: string,
  day: string,
  orphanAfter: number,
): Promise<LedgerCheckView> {
  const audit = await deps.store.audit(tenantId, day);
  return checkView(checkLedger(tenantId, audit, { orphanAfterMs: orphanAfter }));
}

function reservationView(r: ReservationRecord, nowMs: number): ReservationView {
  return {
    reservationId: r.reservationId,
    tenantId: r.tenantId,
    day: r.day,
    model: r.model,
    costUsd: microsToUsd(r.costMicros),
    upstream: r.upstream,
    state: r.state,
    reason: r.reason ?? null,
    admittedAt: new Date(r.admittedAtMs).toISOString(),
    // The store's clock and ours may differ a little: an age is never negative.
    ageSeconds: Math.max(0, Math.floor((nowMs - r.admittedAtMs) / 1000)),
  };
}

/** Open and unknown-outcome reservations of a tenant, oldest first. */
export async function listReservations(
  deps: LedgerOpsDeps,
  tenantId: string,
): Promise<readonly ReservationView[]> {
  const now = deps.clock.now();
  const held = await deps.store.reservations(tenantId);
  return [...held]
    .sort((a, b) => a.admittedAtMs - b.admittedAtMs || a.reservationId.localeCompare(b.reservationId))
    .map((r) => reservationView(r, now));
}

/**
 * An operator gives one reservation back: its charge to its own day, its in-flight slot, its Idempotency-Key
 * hold, and its account slot when it holds one and the account cap is on (the keys the gateway's own release
 * would use). The store's release is idempotent: a reservation already released or charged is left alone.
 */
export async function releaseById(
  deps: LedgerOpsDeps,
  tenantId: string,
  reservationId: string,
): Promise<ReleaseOutcome> {
  const held = (await deps.store.reservations(tenantId)).find((r) => r.reservationId === reservationId);
  if (held === undefined) return { released: false };
  const account = held.account ? accountSlotOf(deps.config, held.upstream) : undefined;
  const { idempotencyKey } = held;
  const result = await deps.store.releaseReservation({
    tenantId,
    reservationId,
    days: [held.day],
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(account === undefined ? {} : { account }),
  });
  // Charged to a task or released by someone else between the read and the release.
  if (!result.released) return { released: false };
  return {
    released: true,
    reservation: reservationView(result.reservation ?? held, deps.clock.now()),
    accountSlotFreed: account !== undefined,
    idempotencyKeyFreed: idempotencyKey !== undefined,
  };
}

/** Why a release found nothing, for both the CLI and the admin API. */
export function nothingToRelease(tenantId: string, reservationId: string): string {
  return (
    `Tenant '${tenantId}' holds no open or unknown-outcome reservation '${reservationId}': ` +
    "it was released or charged to a task already, or never existed."
  );
}
