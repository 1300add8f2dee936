#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { ROLLUP_DIMENSIONS } from "../admin/usage.js";
import { GATEWAY_VERSION } from "../version.js";
import { configCheckCommand } from "./configCheck.js";
import { demoCommand } from "./demo.js";
import { keysCreateCommand, parseTenantId } from "./keys.js";
import { registerLedgerCommands } from "./ledger.js";
import { serveCommand } from "./serve.js";
import { simulateCommand } from "./simulate.js";
import {
  fail,
  parseDays,
  periodParser,
  usageCommand,
  usageFormat,
  usageQuery,
  type UsageFlags,
} from "./usage.js";
import { adminUsageCommand } from "./usageAdmin.js";
import { USAGE_FORMATS } from "./usageOutput.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError("must be a port number (0-65535)");
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("must be a non-negative number");
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const program = new Command()
  .name("apixo-gateway")
  .description("A governed, drop-in reverse proxy in front of the APIXO API.")
  .version(GATEWAY_VERSION, "-V, --version", "print the version")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the gateway")
  .option("-c, --config <file>", "configuration file (default: $APIXO_GATEWAY_CONFIG)")
  .action(async (opts: { config?: string }) => {
    await serveCommand(opts.config ?? process.env.APIXO_GATEWAY_CONFIG);
  });

program
  .command("simulate")
  .description("run the APIXO simulator (for tests, demos and budget load tests; never spends money)")
  .option("-p, --port <port>", "port to listen on", port, 8090)
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("-k, --key <key:balance>", "an accepted API key and its balance in USD (repeatable)", collect, [])
  .option("--pending-ms <ms>", "time a task stays pending", nonNegative, 1000)
  .option(
    "--processing-ms <ms>",
    "time a task stays processing (default: the model's typical time)",
    nonNegative,
  )
  .action(
    async (opts: { port: number; host: string; key: string[]; pendingMs: number; processingMs?: number }) => {
      await simulateCommand(opts);
    },
  );

program
  .command("demo")
  .description(
    "start the simulator and a gateway with a demo tenant (in-memory store, no Redis) and print curl commands",
  )
  .option("-p, --port <port>", "gateway port", port, 8080)
  .option("--simulator-port <port>", "simulator port (0 picks a free port)", port, 0)
  .option(
    "--metrics-port <port>",
    "metrics and admin port (the next ones when busy, then any free one; 0 picks a free port)",
    port,
    9464,
  )
  .action(async (opts: { port: number; simulatorPort: number; metricsPort: number }) => {
    await demoCommand(opts);
  });

const keys = program.command("keys").description("gateway keys");
keys
  .command("create")
  .description("make a new gateway key: prints the key once and the hash line for the config")
  .requiredOption("-t, --tenant <id>", "the tenant the key is for", parseTenantId)
  .option("--label <text>", "a label to find the key by when rotating it")
  .action((opts: { tenant: string; label?: string }) => {
    keysCreateCommand(opts);
  });

const config = program.command("config").description("configuration files");
config
  .command("check")
  .description("validate a configuration file; lists every problem (exit code 0 valid, 1 invalid)")
  .argument("<file>", "configuration file")
  .option("--connect", "also reach the store and check it as /readyz does (topology, scripts, ACL)")
  .action(async (file: string, opts: { connect?: boolean }) => {
    process.exitCode = await configCheckCommand(file, opts);
  });

program
  .command("usage")
  .description(
    "show spend from the gateway's Redis store: today and this month per tenant, one tenant by day, " +
      "or one tenant's spend by user or feature",
  )
  .option("-c, --config <file>", "configuration file (default: $APIXO_GATEWAY_CONFIG)")
  .option("-t, --tenant <id>", "one tenant's spend for the last --days days, by model (or by --by)")
  .option("-d, --days <n>", "days of history with --tenant (1-90)", parseDays, 7)
  .addOption(
    new Option(
      "--by <dimension>",
      "with --tenant: spend by end user (X-Gateway-User) or feature (X-Gateway-Feature)",
    )
      .choices(ROLLUP_DIMENSIONS)
      .conflicts("days"),
  )
  .addOption(
    new Option("--day [YYYY-MM-DD]", "with --by: that tenant-local day (no value: today)")
      .argParser(periodParser("day"))
      .conflicts("month"),
  )
  .option(
    "--month [YYYY-MM]",
    "with --by: that tenant-local month (no value, and the default: this month)",
    periodParser("month"),
  )
  .addOption(new Option("--format <format>", "output format").choices(USAGE_FORMATS).default("table"))
  .addOption(new Option("--json", "the same as --format json").conflicts("format"))
  .option(
    "--admin-url <url>",
    "read a running gateway's admin API instead of Redis (token from $APIXO_GATEWAY_ADMIN_TOKEN), e.g. the demo's",
  )
  .action(async (opts: UsageFlags & { config?: string; adminUrl?: string }) => {
    const query = usageQuery(opts);
    if (typeof query === "string") {
      process.exitCode = fail(query);
      return;
    }
    const options = { query, format: usageFormat(opts) };
    process.exitCode =
      opts.adminUrl === undefined
        ? await usageCommand({ ...options, ...(opts.config === undefined ? {} : { config: opts.config }) })
        : await adminUsageCommand({ ...options, adminUrl: opts.adminUrl });
  });

registerLedgerCommands(program);

await program.parseAsync(process.argv);
