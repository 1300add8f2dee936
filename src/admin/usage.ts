import { microsToUsd } from "../apixo/prices.js";
import type { Clock } from "../clock.js";
import type { TenantConfig } from "../config/schema.js";
import type { Snapshot } from "../tenants/snapshot.js";
import { isDayName } from "../ledger/operations.js";
import { addDays, localDay } from "../limits/days.js";
import { monthOf, type GovernanceStore, type LedgerState, type UsageFigures } from "../limits/store.js";

/**
 * Read-only usage views shared by the admin API and the `usage` CLI, so both answer with the same numbers and
 * shapes. Money is micro-USD in the store and USD here (CONTRACTS.md section 2: USD at the edges). Days are the
 * tenant's local calendar days and months, because that is what its caps and its spend keys are counted in.
 */

export interface UsageDeps {
  readonly store: GovernanceStore;
  readonly snapshot: Snapshot;
  readonly clock: Clock;
}

export interface TenantUsageRow {
  readonly tenantId: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly timeZone: string;
  /** The tenant's local "today". */
  readonly day: string;
  /** Net spend of `day` (charges minus refunds). */
  readonly spentUsd: number;
  /** null: no daily cap. */
  readonly capUsd: number | null;
  /** null: no daily cap; never below 0. */
  readonly remainingUsd: number | null;
  /** The tenant's local calendar month, "YYYY-MM" (the month of `day`). */
  readonly month: string;
  /** Net spend of `month`. */
  readonly monthSpentUsd: number;
  /** null: no monthly cap. */
  readonly monthlyCapUsd: number | null;
  /** null: no monthly cap; never below 0. */
  readonly monthRemainingUsd: number | null;
  /** In-flight slots as the store counts them (may include tasks past their max age until the next sweep). */
  readonly inFlight: number;
}

export interface DayUsage {
  readonly day: string;
  /** Net spend (charges minus refunds). */
  readonly spentUsd: number;
  readonly refundedUsd: number;
  /** model -> net spend of that day; models with nothing left are omitted. */
  readonly byModel: Readonly<Record<string, number>>;
}

export interface TenantHistory {
  readonly tenantId: string;
  readonly timeZone: string;
  /** Oldest first, ending with the tenant's local today. */
  readonly days: readonly DayUsage[];
  readonly totalSpentUsd: number;
  readonly totalRefundedUsd: number;
}

export interface TaskView {
  readonly taskId: string;
  readonly tenantId: string;
  readonly model: string;
  readonly state: LedgerState;
  readonly costUsd: number;
  readonly refundedUsd: number;
  /** The tenant-local day the charge (and any refund) belongs to. */
  readonly day: string;
  readonly submittedAt: string;
  /** Alias of the upstream key from config, never the key itself. */
  readonly upstream: string;
  readonly failCode: string | null;
}

export const MAX_HISTORY_DAYS = 90;

/** The tenant named by the current config, or undefined; ids outside config are never looked up in the store. */
export function findTenant(snapshot: Snapshot, tenantId: string): TenantConfig | undefined {
  return snapshot.config.tenants.find((t) => t.id === tenantId);
}

function todayOf(tenant: TenantConfig, clock: Clock): string {
  return localDay(tenant.timeZone, clock.now());
}

/** A cap and what is left of it in USD; null for no cap. */
function capFigures(capMicros: number | null, spentMicros: number): [number | null, number | null] {
  if (capMicros === null) return [null, null];
  return [microsToUsd(capMicros), microsToUsd(Math.max(0, capMicros - spentMicros))];
}

export async function listTenantUsage(deps: UsageDeps): Promise<TenantUsageRow[]> {
  const { store, snapshot, clock } = deps;
  return Promise.all(
    snapshot.config.tenants.map(async (tenant): Promise<TenantUsageRow> => {
      const day = todayOf(tenant, clock);
      const now = await store.snapshot(tenant.id, day);
      const policy = snapshot.policy(tenant.id);
      const [capUsd, remainingUsd] = capFigures(policy?.capMicros ?? null, now.spentMicros);
      const [monthlyCapUsd, monthRemainingUsd] = capFigures(
        policy?.monthlyCapMicros ?? null,
        now.monthSpentMicros,
      );
      return {
        tenantId: tenant.id,
        name: tenant.name ?? tenant.id,
        enabled: tenant.enabled,
        timeZone: tenant.timeZone,
        day,
        spentUsd: microsToUsd(now.spentMicros),
        capUsd,
        remainingUsd,
        month: monthOf(day),
        monthSpentUsd: microsToUsd(now.monthSpentMicros),
        monthlyCapUsd,
        monthRemainingUsd,
        inFlight: now.inFlight,
      };
    }),
  );
}

/** The last `days` local days of a tenant (1..MAX_HISTORY_DAYS), or null for a tenant not in config. */
export async function tenantHistory(
  deps: UsageDeps,
  tenantId: string,
  days: number,
): Promise<TenantHistory | null> {
  if (!Number.isInteger(days) || days < 1 || days > MAX_HISTORY_DAYS) {
    throw new RangeError(`days must be an integer from 1 to ${MAX_HISTORY_DAYS}`);
  }
  const tenant = findTenant(deps.snapshot, tenantId);
  if (tenant === undefined) return null;
  const today = todayOf(tenant, deps.clock);
  const names = Array.from({ length: days }, (_, i) => addDays(today, i - (days - 1)));
  const spends = await deps.store.spendOfDays(tenantId, names);
  let totalSpentMicros = 0;
  let totalRefundedMicros = 0;
  const rows = spends.map((spend): DayUsage => {
    totalSpentMicros += spend.spentMicros;
    totalRefundedMicros += spend.refundedMicros;
    const byModel: Record<string, number> = {};
    for (const [model, micros] of Object.entries(spend.byModel).sort(([a], [b]) => a.localeCompare(b))) {
      if (micros !== 0) byModel[model] = microsToUsd(micros);
    }
    return {
      day: spend.day,
      spentUsd: microsToUsd(spend.spentMicros),
      refundedUsd: microsToUsd(spend.refundedMicros),
      byModel,
    };
  });
  return {
    tenantId,
    timeZone: tenant.timeZone,
    days: rows,
    totalSpentUsd: microsToUsd(totalSpentMicros),
    totalRefundedUsd: microsToUsd(totalRefundedMicros),
  };
}

/** One task's ledger record, or null when the tenant is not in config or the task is not this tenant's. */
export async function taskRecord(
  deps: UsageDeps,
  tenantId: string,
  taskId: string,
): Promise<TaskView | null> {
  if (findTenant(deps.snapshot, tenantId) === undefined) return null;
  const task = await deps.store.getTask(tenantId, taskId);
  if (task === null) return null;
  return {
    taskId: task.taskId,
    tenantId: task.tenantId,
    model: task.model,
    state: task.state,
    costUsd: microsToUsd(task.costMicros),
    refundedUsd: microsToUsd(task.refundedMicros),
    day: task.day,
    submittedAt: new Date(task.submittedAtMs).toISOString(),
    upstream: task.upstream,
    failCode: task.failCode ?? null,
  };
}

/** A rollup's period: a tenant-local calendar day or month. */
export type PeriodKind = "day" | "month";

/** The period of a rollup: the one named, or the tenant's current day or month when `name` is undefined. */
export interface PeriodChoice {
  readonly kind: PeriodKind;
  readonly name?: string;
}

/** Who inside a tenant a rollup groups by: X-Gateway-User or X-Gateway-Feature. */
export type RollupDimension = "user" | "feature";

export const ROLLUP_DIMENSIONS: readonly RollupDimension[] = ["user", "feature"];

export const PERIOD_FORMAT: Readonly<Record<PeriodKind, string>> = { day: "YYYY-MM-DD", month: "YYYY-MM" };

const MONTH_NAME = /^\d{4}-(0[1-9]|1[0-2])$/;

/** A real calendar day ("2026-02-30" is not) or month, as the store names its periods. */
export function isPeriodName(kind: PeriodKind, value: string): boolean {
  return kind === "day" ? isDayName(value) : MONTH_NAME.test(value);
}

export interface SpenderRow {
  /** The X-Gateway-User or X-Gateway-Feature value, as the client sent it. */
  readonly name: string;
  /** Net spend: charges minus refunds. */
  readonly spentUsd: number;
  /** Tasks charged in the period (a refunded task still counts). */
  readonly tasks: number;
}

export interface DimensionRollup {
  /** Highest spend first, then by name. */
  readonly rows: readonly SpenderRow[];
  /** The period's spend of requests that named no user (or no feature): the total minus the rows. */
  readonly unattributedUsd: number;
}

export interface TenantRollup {
  readonly tenantId: string;
  readonly timeZone: string;
  /** "YYYY-MM-DD" or "YYYY-MM" in the tenant's time zone. */
  readonly period: string;
  readonly periodKind: PeriodKind;
  /** The tenant's net spend of the period, attributed or not. */
  readonly spentUsd: number;
  /** Present unless the rollup was asked for by feature only. */
  readonly byUser?: DimensionRollup;
  /** Present unless the rollup was asked for by user only. */
  readonly byFeature?: DimensionRollup;
}

/** Integer micro-USD summed, then converted once: the unattributed figure is exact, not a float difference. */
function dimension(totalMicros: number, figures: Readonly<Record<string, UsageFigures>>): DimensionRollup {
  const entries = Object.entries(figures).sort(
    ([a, x], [b, y]) => y.spentMicros - x.spentMicros || (a < b ? -1 : a > b ? 1 : 0),
  );
  let attributedMicros = 0;
  const rows = entries.map(([name, f]): SpenderRow => {
    attributedMicros += f.spentMicros;
    return { name, spentUsd: microsToUsd(f.spentMicros), tasks: f.tasks };
  });
  return { rows, unattributedUsd: microsToUsd(totalMicros - attributedMicros) };
}

/**
 * A tenant's spend of one day or month by user and by feature (or only `by`), or null for a tenant not in
 * config. Day rollups are kept 40 days, month rollups 400 days (limits/keys.ts); older periods read as zero.
 */
export async function tenantRollup(
  deps: UsageDeps,
  tenantId: string,
  choice: PeriodChoice,
  by?: RollupDimension,
): Promise<TenantRollup | null> {
  if (choice.name !== undefined && !isPeriodName(choice.kind, choice.name)) {
    throw new RangeError(`a ${choice.kind} is named ${PERIOD_FORMAT[choice.kind]}`);
  }
  const tenant = findTenant(deps.snapshot, tenantId);
  if (tenant === undefined) return null;
  const today = todayOf(tenant, deps.clock);
  const period = choice.name ?? (choice.kind === "day" ? today : monthOf(today));
  const [rollup] = await deps.store.usage(tenantId, [period]);
  const spentMicros = rollup?.spentMicros ?? 0;
  return {
    tenantId,
    timeZone: tenant.timeZone,
    period,
    periodKind: choice.kind,
    spentUsd: microsToUsd(spentMicros),
    ...(by === "feature" ? {} : { byUser: dimension(spentMicros, rollup?.byUser ?? {}) }),
    ...(by === "user" ? {} : { byFeature: dimension(spentMicros, rollup?.byFeature ?? {}) }),
  };
}
