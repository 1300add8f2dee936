import { findModel } from "../apixo/models.js";
import { buildPriceTable, usdToMicros, type PriceTable } from "../apixo/prices.js";
import type { GatewayConfig, TenantConfig } from "../config/schema.js";
import { accountLimitsFor, accountSlotOf } from "../config/protection.js";
import type { AccountLimits, BucketSpec } from "../limits/store.js";
import { TenantDirectory } from "../tenants/directory.js";

/** What one tenant's config means at request time, precomputed once per config load. */
export interface TenantPolicy {
  readonly tenant: TenantConfig;
  readonly upstreamKey: string;
  /** null: every model. */
  readonly allowedModels: ReadonlySet<string> | null;
  readonly capMicros: number | null;
  readonly unpricedChargeMicros: number | null;
  readonly statusBuckets: readonly BucketSpec[];
  readonly balanceBuckets: readonly BucketSpec[];
  /** The shared limits of the tenant's upstream key; undefined when account budgets are off. */
  readonly account: AccountLimits | undefined;
  /** Where a release gives the account's in-flight slot back; undefined when that cap is off. */
  readonly accountSlot: { readonly upstream: string } | undefined;
  submitBuckets(model: string): readonly BucketSpec[];
}

/**
 * An immutable view of one configuration. A reload builds a new snapshot; a request keeps the snapshot it
 * started with, so in-flight requests are never disturbed by a reload.
 */
export interface Snapshot {
  readonly config: GatewayConfig;
  readonly directory: TenantDirectory;
  readonly prices: PriceTable;
  readonly loadedAtMs: number;
  policy(tenantId: string): TenantPolicy | undefined;
}

/** The canonical id of a model name (aliases resolve), or the name itself for models the table does not know. */
export function canonicalModel(name: string): string {
  return findModel(name)?.id ?? name;
}

function buildPolicy(config: GatewayConfig, tenant: TenantConfig, upstreamKey: string): TenantPolicy {
  const { limits } = tenant;
  const bucket = (name: string, b: { ratePerSec: number; burst: number }): BucketSpec => ({
    name,
    ratePerSec: b.ratePerSec,
    burst: b.burst,
  });
  const submit = bucket("submit", limits.submit);
  const perModel = new Map<string, readonly BucketSpec[]>();
  for (const [model, b] of Object.entries(limits.perModel)) {
    perModel.set(canonicalModel(model), [submit, bucket(`submit:${canonicalModel(model)}`, b)]);
  }
  const submitOnly = [submit];
  return {
    tenant,
    upstreamKey,
    allowedModels: tenant.allowedModels.includes("*")
      ? null
      : new Set(tenant.allowedModels.map(canonicalModel)),
    capMicros: tenant.dailyCapUsd === null ? null : usdToMicros(tenant.dailyCapUsd),
    unpricedChargeMicros:
      tenant.unpricedModels === "reject" ? null : usdToMicros(tenant.unpricedModels.chargeUsd),
    statusBuckets: [bucket("status", limits.status)],
    balanceBuckets: [bucket("balance", limits.balance)],
    account: accountLimitsFor(config, tenant.upstreamKey),
    accountSlot: accountSlotOf(config, tenant.upstreamKey),
    submitBuckets: (model) => perModel.get(model) ?? submitOnly,
  };
}

export function buildSnapshot(config: GatewayConfig, loadedAtMs: number): Snapshot {
  const keys = new Map(config.upstream.keys.map((k) => [k.alias, k.key]));
  const policies = new Map<string, TenantPolicy>();
  for (const tenant of config.tenants) {
    const upstreamKey = keys.get(tenant.upstreamKey);
    // crossCheck guarantees the alias exists; a missing one here is a bug, not a user error.
    if (upstreamKey === undefined) throw new Error(`tenant ${tenant.id}: unknown upstream alias`);
    policies.set(tenant.id, buildPolicy(config, tenant, upstreamKey));
  }
  return {
    config,
    directory: new TenantDirectory(config.tenants),
    prices: buildPriceTable(config.governance.prices),
    loadedAtMs,
    policy: (tenantId) => policies.get(tenantId),
  };
}
