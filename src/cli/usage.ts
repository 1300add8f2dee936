import { InvalidArgumentError } from "commander";
import {
  MAX_HISTORY_DAYS,
  PERIOD_FORMAT,
  isPeriodName,
  listTenantUsage,
  tenantHistory,
  tenantRollup,
  type PeriodChoice,
  type PeriodKind,
  type RollupDimension,
  type UsageDeps,
} from "../admin/usage.js";
import { systemClock } from "../clock.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import { buildSnapshot } from "../tenants/snapshot.js";
import { createToolStore } from "../gateway/storeFactory.js";
import type { GovernanceStore } from "../limits/store.js";
import { renderUsage, type UsageFormat, type UsageView } from "./usageOutput.js";

/** Which report: every tenant's today and month, one tenant's days by model, or one tenant's spenders. */
export type UsageQuery =
  | { readonly kind: "tenants" }
  | { readonly kind: "history"; readonly tenant: string; readonly days: number }
  | {
      readonly kind: "rollup";
      readonly tenant: string;
      readonly by: RollupDimension;
      readonly period: PeriodChoice;
    };

/** The command's flags as commander parsed them; `true` is `--day` / `--month` given without a value. */
export interface UsageFlags {
  readonly tenant?: string;
  readonly days: number;
  readonly by?: RollupDimension;
  readonly day?: string | true;
  readonly month?: string | true;
  readonly format: UsageFormat;
  readonly json?: boolean;
}

export interface UsageOptions {
  readonly config?: string;
  readonly query: UsageQuery;
  readonly format: UsageFormat;
}

/** Extra time the CLI gives Redis to accept commands: its client fails fast instead of queueing. */
const STORE_READY_TIMEOUT_MS = 2_000;

/** Commander parser for `--days`: the same range the admin API accepts. */
export function parseDays(value: string): number {
  const days = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > MAX_HISTORY_DAYS) {
    throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_HISTORY_DAYS}`);
  }
  return days;
}

/** Commander parser for `--day <YYYY-MM-DD>` / `--month <YYYY-MM>`: a real calendar day or month. */
export function periodParser(kind: PeriodKind): (value: string) => string {
  return (value) => {
    if (!isPeriodName(kind, value)) {
      throw new InvalidArgumentError(`must be a calendar ${kind}, ${PERIOD_FORMAT[kind]}`);
    }
    return value;
  };
}

/**
 * The report the flags ask for, or the sentence saying why they do not fit together (commander checks each
 * flag alone and the exclusive pairs; this checks what needs what).
 */
export function usageQuery(flags: UsageFlags): UsageQuery | string {
  const { tenant, by, day, month } = flags;
  if (by === undefined) {
    if (day !== undefined || month !== undefined) return "--day and --month choose the period of --by";
    return tenant === undefined ? { kind: "tenants" } : { kind: "history", tenant, days: flags.days };
  }
  if (tenant === undefined) return "--by needs --tenant <id>";
  const period: PeriodChoice =
    day !== undefined
      ? { kind: "day", ...(day === true ? {} : { name: day }) }
      : { kind: "month", ...(month === undefined || month === true ? {} : { name: month }) };
  return { kind: "rollup", tenant, by, period };
}

/** `--json` is kept as the short way to say `--format json`. */
export function usageFormat(flags: Pick<UsageFlags, "format" | "json">): UsageFormat {
  return flags.json === true ? "json" : flags.format;
}

/** The report on stdout; returns the exit code. */
export function printUsage(view: UsageView, format: UsageFormat): number {
  process.stdout.write(`${renderUsage(view, format)}\n`);
  return 0;
}

/** The command's error line on stderr; returns the exit code. */
export function fail(message: string): number {
  process.stderr.write(`apixo-gateway usage: ${message}\n`);
  return 1;
}

function unknownTenant(config: GatewayConfig, tenantId: string): number {
  const known = config.tenants.map((t) => t.id).join(", ");
  return fail(`no tenant '${tenantId}' in the configuration (known: ${known})`);
}

const MEMORY_STORE_MESSAGE =
  "store.kind is memory: a memory store lives inside the running gateway process and this command cannot read it. " +
  "Ask the running gateway instead (GET /admin/tenants on its metrics port, see docs/admin.md), " +
  "or configure a Redis store.";

export async function waitForStore(store: GovernanceStore, timeoutMs: number): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    try {
      await store.ping();
      return;
    } catch (err) {
      if (Date.now() >= deadlineMs) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The tenant a query names, if any. */
export function tenantOf(query: UsageQuery): string | undefined {
  return query.kind === "tenants" ? undefined : query.tenant;
}

/** The report of `query` from the store; null for a tenant the configuration does not name. */
async function viewOf(deps: UsageDeps, query: UsageQuery): Promise<UsageView | null> {
  switch (query.kind) {
    case "tenants":
      return { kind: "tenants", tenants: await listTenantUsage(deps) };
    case "history": {
      const history = await tenantHistory(deps, query.tenant, query.days);
      return history === null ? null : { kind: "history", history };
    }
    case "rollup": {
      const rollup = await tenantRollup(deps, query.tenant, query.period, query.by);
      return rollup === null ? null : { kind: "rollup", rollup };
    }
  }
}

async function report(store: GovernanceStore, config: GatewayConfig, options: UsageOptions): Promise<number> {
  const deps = { store, snapshot: buildSnapshot(config, systemClock.now()), clock: systemClock };
  const view = await viewOf(deps, options.query);
  if (view === null) return unknownTenant(config, tenantOf(options.query) ?? "");
  return printUsage(view, options.format);
}

/**
 * Spend from the store the gateway uses (Redis), read-only. Without --tenant: every tenant's today and month;
 * with it: that tenant's last --days days by model, or with --by its spend of a day or month by user or
 * feature. Returns the exit code.
 */
export async function usageCommand(options: UsageOptions): Promise<number> {
  const configPath = options.config ?? process.env.APIXO_GATEWAY_CONFIG;
  if (configPath === undefined || configPath === "") {
    return fail("give --config <file> or set APIXO_GATEWAY_CONFIG");
  }
  let config: GatewayConfig;
  try {
    config = await loadConfigFile(configPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(err.message);
  }
  if (config.store.kind === "memory") return fail(MEMORY_STORE_MESSAGE);
  const tenant = tenantOf(options.query);
  if (tenant !== undefined && !config.tenants.some((t) => t.id === tenant)) {
    return unknownTenant(config, tenant);
  }
  // Connection trouble is reported once as the command's error, not as a stream of log lines on stdout.
  const store = await createToolStore(config);
  try {
    await waitForStore(store, STORE_READY_TIMEOUT_MS);
    return await report(store, config, options);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // The Redis URL may carry a password, so it is not repeated here.
    return fail(`cannot read the Redis limit store (store.redisUrl): ${reason}`);
  } finally {
    await store.close();
  }
}
