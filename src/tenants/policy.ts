import { usdToMicros } from "../apixo/prices.js";
import { canonicalModel } from "../apixo/endpoints.js";
import type { GatewayConfig, TenantConfig } from "../config/schema.js";
import type { AccountLimits, BucketSpec } from "../limits/store.js";

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

/** The shared limits of one upstream key from `upstream.protection.account`; undefined when both are off. */
export function accountLimitsFor(config: GatewayConfig, upstream: string): AccountLimits | undefined {
  const { requestsPerMinute, burst, maxInFlightTasks } = config.upstream.protection.account;
  if (requestsPerMinute === null && maxInFlightTasks === null) return undefined;
  return {
    upstream,
    bucket:
      requestsPerMinute === null ? null : { name: "account", ratePerSec: requestsPerMinute / 60, burst },
    maxInFlight: maxInFlightTasks,
  };
}

/** Where a settle or release gives an account in-flight slot back (only when that cap is on). */
export function accountSlotOf(
  config: GatewayConfig,
  upstream: string,
): { readonly upstream: string } | undefined {
  return config.upstream.protection.account.maxInFlightTasks === null ? undefined : { upstream };
}

export function buildPolicy(config: GatewayConfig, tenant: TenantConfig, upstreamKey: string): TenantPolicy {
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
