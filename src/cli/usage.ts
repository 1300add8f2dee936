import { InvalidArgumentError } from "commander";
import {
  MAX_HISTORY_DAYS,
  listTenantUsage,
  tenantHistory,
  type TenantHistory,
  type TenantUsageRow,
} from "../admin/usage.js";
import { formatUsd, usdToMicros } from "../apixo/prices.js";
import { systemClock } from "../clock.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import { buildSnapshot } from "../tenants/snapshot.js";
import { createToolStore } from "../gateway/storeFactory.js";
import type { GovernanceStore } from "../limits/store.js";

export interface UsageOptions {
  readonly config?: string;
  readonly tenant?: string;
  readonly days: number;
  readonly json: boolean;
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

function usd(value: number): string {
  return formatUsd(usdToMicros(value));
}

/** Columns padded to their widest cell; numeric columns right-aligned so amounts line up. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? cell.length;
        return rightAligned.has(i) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function tenantsTable(rows: readonly TenantUsageRow[]): string {
  return renderTable(
    ["TENANT", "NAME", "ENABLED", "DAY", "SPENT", "CAP", "REMAINING", "IN-FLIGHT"],
    rows.map((r) => [
      r.tenantId,
      r.name,
      r.enabled ? "yes" : "no",
      r.day,
      usd(r.spentUsd),
      r.capUsd === null ? "none" : usd(r.capUsd),
      r.remainingUsd === null ? "-" : usd(r.remainingUsd),
      String(r.inFlight),
    ]),
    new Set([4, 5, 6, 7]),
  );
}

export function historyTable(history: TenantHistory): string {
  const title = `Tenant ${history.tenantId} (time zone ${history.timeZone}), last ${history.days.length} day(s)`;
  const table = renderTable(
    ["DAY", "SPENT", "REFUNDED", "BY MODEL"],
    [
      ...history.days.map((d) => [
        d.day,
        usd(d.spentUsd),
        usd(d.refundedUsd),
        Object.entries(d.byModel)
          .map(([model, value]) => `${model} ${usd(value)}`)
          .join(", "),
      ]),
      ["TOTAL", usd(history.totalSpentUsd), usd(history.totalRefundedUsd), ""],
    ],
    new Set([1, 2]),
  );
  return `${title}\n${table}`;
}

async function report(store: GovernanceStore, config: GatewayConfig, options: UsageOptions): Promise<number> {
  const deps = { store, snapshot: buildSnapshot(config, systemClock.now()), clock: systemClock };
  if (options.tenant === undefined) {
    const tenants = await listTenantUsage(deps);
    process.stdout.write(
      options.json ? `${JSON.stringify({ tenants }, null, 2)}\n` : `${tenantsTable(tenants)}\n`,
    );
    return 0;
  }
  const history = await tenantHistory(deps, options.tenant, options.days);
  if (history === null) return unknownTenant(config, options.tenant);
  process.stdout.write(options.json ? `${JSON.stringify(history, null, 2)}\n` : `${historyTable(history)}\n`);
  return 0;
}

/**
 * Spend from the store the gateway uses (Redis), read-only. Without --tenant: every tenant's today; with it:
 * that tenant's last --days days by model. Returns the exit code.
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
  if (options.tenant !== undefined && !config.tenants.some((t) => t.id === options.tenant)) {
    return unknownTenant(config, options.tenant);
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
