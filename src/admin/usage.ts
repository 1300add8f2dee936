import { microsToUsd } from "../apixo/prices.js";
import type { Clock } from "../clock.js";
import type { TenantConfig } from "../config/schema.js";
import type { Snapshot } from "../tenants/snapshot.js";
import { addDays, localDay } from "../limits/days.js";
import type { GovernanceStore, LedgerState } from "../limits/store.js";

/**
 * Read-only usage views shared by the admin API and the `usage` CLI, so both answer with the same numbers and
 * shapes. Money is micro-USD in the store and USD here (CONTRACTS.md section 2: USD at the edges). Days are the
 * tenant's local calendar days, because that is what its cap and its spend keys are counted in.
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

export async function listTenantUsage(deps: UsageDeps): Promise<TenantUsageRow[]> {
  const { store, snapshot, clock } = deps;
  return Promise.all(
    snapshot.config.tenants.map(async (tenant): Promise<TenantUsageRow> => {
      const day = todayOf(tenant, clock);
      const now = await store.snapshot(tenant.id, day);
      const capMicros = snapshot.policy(tenant.id)?.capMicros ?? null;
      return {
        tenantId: tenant.id,
        name: tenant.name ?? tenant.id,
        enabled: tenant.enabled,
        timeZone: tenant.timeZone,
        day,
        spentUsd: microsToUsd(now.spentMicros),
        capUsd: capMicros === null ? null : microsToUsd(capMicros),
        remainingUsd: capMicros === null ? null : microsToUsd(Math.max(0, capMicros - now.spentMicros)),
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
