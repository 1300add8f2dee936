import { accountCall } from "./lua/account.js";
import { bucketCall } from "./lua/common.js";
import { capArgs, daySpendKeys } from "./lua/spend.js";
import { tenantKeys, type TenantKeys } from "./keys.js";
import type { AccountLimits, BucketSpec, CapSpec, DayWindow } from "./store.js";

export interface ScriptArgs {
  readonly keys: readonly string[];
  readonly args: readonly string[];
}

const NO_ACCOUNT: ScriptArgs = { keys: [], args: [] };

/** The upstream account (alias) whose slot holds a tenant's keys; from the config in force. */
export type AccountOf = (tenantId: string) => string | undefined;

interface TenantEntry {
  readonly account: string;
  readonly keys: TenantKeys;
  /** By the policy's bucket list, which the config snapshot builds once per tenant and reload. */
  readonly buckets: WeakMap<readonly BucketSpec[], ScriptArgs>;
  /** By the day window, which DayWindowCache reuses until the day ends. */
  readonly days: WeakMap<DayWindow, readonly string[]>;
}

/**
 * Key names and bucket arguments of the scripts, built once per tenant and policy rather than on every
 * request: they only change when the config does. Tenant ids come from the config, never from a client, so
 * the map is bounded by the tenants ever configured.
 */
export class CallCache {
  private readonly tenants = new Map<string, TenantEntry>();
  private readonly accounts = new WeakMap<AccountLimits, ScriptArgs>();
  private readonly caps = new WeakMap<readonly CapSpec[], readonly string[]>();

  constructor(
    private readonly prefix: string,
    private readonly accountOf: AccountOf,
  ) {}

  keys(tenantId: string): TenantKeys {
    return this.entry(tenantId).keys;
  }

  buckets(tenantId: string, specs: readonly BucketSpec[]): ScriptArgs {
    const entry = this.entry(tenantId);
    let call = entry.buckets.get(specs);
    if (call === undefined) {
      call = bucketCall(entry.keys, specs);
      entry.buckets.set(specs, call);
    }
    return call;
  }

  /** The day blocks (lua/spend.ts) of yesterday, today and tomorrow: the admission's fifteen spend keys. */
  dayBlocks(tenantId: string, days: DayWindow): readonly string[] {
    const entry = this.entry(tenantId);
    let keys = entry.days.get(days);
    if (keys === undefined) {
      keys = [days.yesterday, days.today, days.tomorrow].flatMap((day) => daySpendKeys(entry.keys, day));
      entry.days.set(days, keys);
    }
    return keys;
  }

  /** By the policy's caps list, built once per tenant, model and reload (tenants/policy.ts). */
  capArgs(caps: readonly CapSpec[]): readonly string[] {
    let args = this.caps.get(caps);
    if (args === undefined) {
      args = capArgs(caps);
      this.caps.set(caps, args);
    }
    return args;
  }

  account(limits: AccountLimits | undefined): ScriptArgs {
    if (limits === undefined) return NO_ACCOUNT;
    let call = this.accounts.get(limits);
    if (call === undefined) {
      call = accountCall(this.prefix, limits);
      this.accounts.set(limits, call);
    }
    return call;
  }

  private entry(tenantId: string): TenantEntry {
    const account = this.accountOf(tenantId);
    let entry = this.tenants.get(tenantId);
    if (account === undefined) {
      // A tenant a reload removed keeps the keys it had: its pending ledger writes still land where they belong.
      if (entry !== undefined) return entry;
      // Its keys live in its account's slot, and without the config nothing says which account that is.
      throw new Error(`tenant ${JSON.stringify(tenantId)} has no upstream account in the configuration`);
    }
    if (entry?.account !== account) {
      entry = {
        account,
        keys: tenantKeys(this.prefix, tenantId, account),
        buckets: new WeakMap(),
        days: new WeakMap(),
      };
      this.tenants.set(tenantId, entry);
    }
    return entry;
  }
}
