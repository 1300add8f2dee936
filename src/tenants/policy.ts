import { usdToMicros } from "../apixo/prices.js";
import { canonicalModel } from "../apixo/endpoints.js";
import type { GatewayConfig, TenantConfig } from "../config/schema.js";
import type { AccountLimits, BucketSpec, CapSpec } from "../limits/store.js";

/** What one tenant's config means at request time, precomputed once per config load. */
export interface TenantPolicy {
  readonly tenant: TenantConfig;
  readonly upstreamKey: string;
  /** null: every model. */
  readonly allowedModels: ReadonlySet<string> | null;
  /** The daily cap; null: none. */
  readonly capMicros: number | null;
  readonly monthlyCapMicros: number | null;
  /** The daily cap of each end user (X-Gateway-User); null: none. */
  readonly userDailyCapMicros: number | null;
  readonly unpricedChargeMicros: number | null;
  readonly statusBuckets: readonly BucketSpec[];
  readonly balanceBuckets: readonly BucketSpec[];
  /** The shared limits of the tenant's upstream key; undefined when account budgets are off. */
  readonly account: AccountLimits | undefined;
  /** Where a release gives the account's in-flight slot back; undefined when that cap is off. */
  readonly accountSlot: { readonly upstream: string } | undefined;
  submitBuckets(model: string): readonly BucketSpec[];
  /**
   * The caps a submit of `model` is checked against, broadest first (monthly, daily, the model's, the
   * user's), so a 402 names the cap that resets last; the user's only when the request names a user.
   */
  submitCaps(model: string, hasUser: boolean): readonly CapSpec[];
}

/** The per-model caps lists, built once per config load: a submit allocates none. */
function capsBuilder(tenant: TenantConfig): TenantPolicy["submitCaps"] {
  const micros = (usd: number | null) => (usd === null ? null : usdToMicros(usd));
  const cap = (window: CapSpec["window"], capMicros: number | null): CapSpec[] =>
    capMicros === null ? [] : [{ window, capMicros }];
  const tenantCaps = [
    ...cap("monthly", micros(tenant.monthlyCapUsd)),
    ...cap("daily", micros(tenant.dailyCapUsd)),
  ];
  const userCap = cap("user_daily", micros(tenant.userDailyCapUsd));
  const lists = (modelCaps: CapSpec[]) => ({
    anonymous: [...tenantCaps, ...modelCaps],
    user: [...tenantCaps, ...modelCaps, ...userCap],
  });
  const plain = lists([]);
  const perModel = new Map<string, ReturnType<typeof lists>>();
  for (const [model, usd] of Object.entries(tenant.modelDailyCapsUsd)) {
    perModel.set(canonicalModel(model), lists(cap("model_daily", usdToMicros(usd))));
  }
  return (model, hasUser) => {
    const chosen = perModel.get(model) ?? plain;
    return hasUser ? chosen.user : chosen.anonymous;
  };
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
    monthlyCapMicros: tenant.monthlyCapUsd === null ? null : usdToMicros(tenant.monthlyCapUsd),
    userDailyCapMicros: tenant.userDailyCapUsd === null ? null : usdToMicros(tenant.userDailyCapUsd),
    unpricedChargeMicros:
      tenant.unpricedModels === "reject" ? null : usdToMicros(tenant.unpricedModels.chargeUsd),
    statusBuckets: [bucket("status", limits.status)],
    balanceBuckets: [bucket("balance", limits.balance)],
    account: accountLimitsFor(config, tenant.upstreamKey),
    accountSlot: accountSlotOf(config, tenant.upstreamKey),
    submitBuckets: (model) => perModel.get(model) ?? submitOnly,
    submitCaps: capsBuilder(tenant),
  };
}
