import { type Command, InvalidArgumentError } from "commander";
import { systemClock } from "../clock.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import type { GatewayConfig, TenantConfig } from "../config/schema.js";
import { createToolStore } from "../gateway/storeFactory.js";
import {
  checkTenantDay,
  defaultCheckDays,
  defaultOrphanAfterMs,
  isDayName,
  isReservationId,
  listReservations,
  nothingToRelease,
  releaseById,
  type LedgerCheckView,
  type LedgerOpsDeps,
  type ReservationView,
} from "../ledger/operations.js";
import { checkReport, releaseReport, reservationsTable } from "./ledgerOutput.js";
import { waitForStore } from "./usage.js";

/**
 * `apixo-gateway ledger check | reservations | release`: the ledger of a Redis store, read (and, for
 * release, written) directly. Exit codes: 0 all well, 1 what the command looks for was found (a problem, no
 * such reservation), 2 the command could not run (usage, configuration, store).
 */

const EXIT_FOUND = 1;
const EXIT_CANNOT_RUN = 2;
const STORE_READY_TIMEOUT_MS = 2_000;

const MEMORY_STORE_MESSAGE =
  "store.kind is memory: a memory store lives inside the running gateway process and this command cannot read it. " +
  "Use the running gateway's admin API instead (GET /admin/tenants/{id}/ledger-check and " +
  "/admin/tenants/{id}/reservations on its metrics port, see docs/admin.md), or configure a Redis store.";

interface CommonOptions {
  readonly config?: string;
  readonly tenant?: string;
  readonly json: boolean;
}

function say(message: string, code: number): number {
  process.stderr.write(`apixo-gateway ledger: ${message}\n`);
  return code;
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** Loads the config, opens its Redis store and runs `run` on the chosen tenants; closes the store after. */
async function withLedger(
  options: Pick<CommonOptions, "config" | "tenant">,
  run: (deps: LedgerOpsDeps, tenants: readonly TenantConfig[]) => Promise<number>,
): Promise<number> {
  const configPath = options.config ?? process.env.APIXO_GATEWAY_CONFIG;
  if (configPath === undefined || configPath === "") {
    return say("give --config <file> or set APIXO_GATEWAY_CONFIG", EXIT_CANNOT_RUN);
  }
  let config: GatewayConfig;
  try {
    config = await loadConfigFile(configPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return say(err.message, EXIT_CANNOT_RUN);
  }
  if (config.store.kind === "memory") return say(MEMORY_STORE_MESSAGE, EXIT_CANNOT_RUN);
  const tenants =
    options.tenant === undefined ? config.tenants : config.tenants.filter((t) => t.id === options.tenant);
  if (tenants.length === 0 && options.tenant !== undefined) {
    const known = config.tenants.map((t) => t.id).join(", ");
    return say(`no tenant '${options.tenant}' in the configuration (known: ${known})`, EXIT_CANNOT_RUN);
  }
  // Connection trouble is reported once as the command's error, not as a stream of log lines.
  const store = await createToolStore(config);
  try {
    await waitForStore(store, STORE_READY_TIMEOUT_MS);
    return await run({ store, config, clock: systemClock }, tenants);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // The Redis URL may carry a password, so it is not repeated here.
    return say(`cannot use the Redis limit store (store.redisUrl): ${reason}`, EXIT_CANNOT_RUN);
  } finally {
    await store.close();
  }
}

export async function ledgerCheckCommand(
  options: CommonOptions & { readonly day?: string; readonly orphanAfterSeconds?: number },
): Promise<number> {
  return withLedger(options, async (deps, tenants) => {
    const orphanAfterMs =
      options.orphanAfterSeconds === undefined
        ? defaultOrphanAfterMs(deps.config)
        : Math.round(options.orphanAfterSeconds * 1000);
    const checks: LedgerCheckView[] = [];
    for (const tenant of tenants) {
      const days = options.day === undefined ? defaultCheckDays(tenant, deps.clock) : [options.day];
      for (const day of days) checks.push(await checkTenantDay(deps, tenant.id, day, orphanAfterMs));
    }
    const ok = checks.every((c) => c.ok);
    print(options.json, { ok, orphanAfterSeconds: orphanAfterMs / 1000, checks }, () => checkReport(checks));
    return ok ? 0 : EXIT_FOUND;
  });
}

export async function ledgerReservationsCommand(options: CommonOptions): Promise<number> {
  return withLedger(options, async (deps, tenants) => {
    const reservations: ReservationView[] = [];
    for (const tenant of tenants) reservations.push(...(await listReservations(deps, tenant.id)));
    print(options.json, { reservations }, () => reservationsTable(reservations));
    return 0;
  });
}

export async function ledgerReleaseCommand(
  options: CommonOptions & { readonly tenant: string },
  reservationId: string,
): Promise<number> {
  return withLedger(options, async (deps) => {
    const outcome = await releaseById(deps, options.tenant, reservationId);
    if (!outcome.released) {
      return say(
        `${nothingToRelease(options.tenant, reservationId)} See \`apixo-gateway ledger reservations\`.`,
        EXIT_FOUND,
      );
    }
    print(options.json, outcome, () => releaseReport(outcome));
    return 0;
  });
}

function parseDay(value: string): string {
  if (!isDayName(value)) throw new InvalidArgumentError("must be a calendar day, YYYY-MM-DD");
  return value;
}

function parseSeconds(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new InvalidArgumentError("must be a non-negative number of seconds");
  return n;
}

function parseReservationId(value: string): string {
  if (!isReservationId(value)) {
    throw new InvalidArgumentError("must be a reservation id as `ledger reservations` lists it");
  }
  return value;
}

const CONFIG_HELP = "configuration file (default: $APIXO_GATEWAY_CONFIG)";

/** Adds `ledger check`, `ledger reservations` and `ledger release` to the program. */
export function registerLedgerCommands(program: Command): void {
  const ledger = program
    .command("ledger")
    .description("check the ledger of the gateway's Redis store; list and release reservations")
    // Usage errors exit 2, so that exit 1 always means "a problem was found" (set before the subcommands,
    // which inherit it).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CANNOT_RUN));

  ledger
    .command("check")
    .description(
      "verify each tenant-day: spend = charges - refunds + unknown + open, slots, orphans (exit 0 ok, 1 problems, 2 error)",
    )
    .option("-c, --config <file>", CONFIG_HELP)
    .option("-t, --tenant <id>", "only this tenant")
    .option(
      "--day <YYYY-MM-DD>",
      "only this day (default: yesterday and today in the tenant's zone)",
      parseDay,
    )
    .option(
      "--orphan-after-seconds <s>",
      "an open reservation older than this is an orphan (default: upstream.timeoutMs + 30 s)",
      parseSeconds,
    )
    .option("--json", "print JSON", false)
    .action(async (opts: CommonOptions & { day?: string; orphanAfterSeconds?: number }) => {
      process.exitCode = await ledgerCheckCommand(opts);
    });

  ledger
    .command("reservations")
    .description("list open and unknown-outcome reservations")
    .option("-c, --config <file>", CONFIG_HELP)
    .option("-t, --tenant <id>", "only this tenant")
    .option("--json", "print JSON", false)
    .action(async (opts: CommonOptions) => {
      process.exitCode = await ledgerReservationsCommand(opts);
    });

  ledger
    .command("release")
    .description(
      "give one reservation back (charge, slots, Idempotency-Key); only after checking APIXO never started it",
    )
    .argument("<reservationId>", "as `ledger reservations` lists it", parseReservationId)
    .option("-c, --config <file>", CONFIG_HELP)
    .requiredOption("-t, --tenant <id>", "the tenant holding the reservation")
    .option("--json", "print JSON", false)
    .action(async (reservationId: string, opts: CommonOptions & { tenant: string }) => {
      process.exitCode = await ledgerReleaseCommand(opts, reservationId);
    });
}
