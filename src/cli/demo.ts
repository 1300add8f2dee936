import { randomBytes } from "node:crypto";
import { relative } from "node:path";
import { configSchema, type GatewayConfig } from "../config/schema.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { createSimulator } from "../simulator/index.js";
import { generateGatewayKey, hashGatewayKey } from "../tenants/keys.js";
import { createLogger } from "../telemetry/logger.js";
import { busyPortMessage } from "./busyPort.js";

const SIMULATOR_KEY = "sk-sim-demo";
/** Metrics/admin ports tried after the asked one is busy, before any free port: the printed URL stays guessable. */
const METRICS_PORT_TRIES = 10;

function isBusy(err: unknown, port: number): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    "code" in err &&
    err.code === "EADDRINUSE" &&
    "port" in err &&
    err.port === port
  );
}

/** How to run this same CLI again: from the sources (`npm run demo` runs them with tsx) or installed. */
function selfCommand(): string {
  const script = process.argv[1] ?? "";
  return script.endsWith(".ts") ? `npx tsx ${relative(process.cwd(), script)}` : "apixo-gateway";
}

/**
 * Starts the gateway on the asked metrics port, or the next ones when busy, then any free port: the demo's
 * metrics and admin API are on a fixed, printed port whenever it can be. A busy public port is the caller's.
 */
async function startOnMetricsPort(
  config: (metricsPort: number) => GatewayConfig,
  wanted: number,
  logger: ReturnType<typeof createLogger>,
): Promise<RunningGateway> {
  const candidates =
    wanted === 0 ? [0] : [...Array.from({ length: METRICS_PORT_TRIES }, (_, i) => wanted + i), 0];
  for (const port of candidates) {
    try {
      return await startGateway({ config: config(port), logger });
    } catch (err) {
      if (port === 0 || !isBusy(err, port)) throw err;
    }
  }
  throw new Error("unreachable: port 0 is always free");
}

/** Prints the shared busy-port line (with the flag that moves the port) and sets a failing exit code. */
function reportBusyPort(err: unknown, flag: "--port" | "--simulator-port"): boolean {
  const busy = busyPortMessage(err, (suggestion) => `npm run demo -- ${flag} ${suggestion}`);
  if (busy === undefined) return false;
  process.stderr.write(`${busy}\n`);
  process.exitCode = 1;
  return true;
}

/**
 * The two-minute tour: the simulator as APIXO, a gateway in front of it with one demo tenant and the embedded
 * store, and curl commands that go through it.
 */
export async function demoCommand(options: {
  port: number;
  simulatorPort: number;
  metricsPort: number;
}): Promise<void> {
  const simulator = createSimulator({
    keys: { [SIMULATOR_KEY]: 100 },
    pendingMs: 1_000,
    processingMs: 3_000,
  });
  let simulatorUrl: string;
  try {
    simulatorUrl = await simulator.listen(options.simulatorPort, "127.0.0.1");
  } catch (err) {
    if (!reportBusyPort(err, "--simulator-port")) throw err;
    return;
  }
  const demoKey = generateGatewayKey();
  // The admin API's token, made for this run only (like the tenant's key): the usage view needs it.
  const adminToken = randomBytes(24).toString("base64url");
  const config = (metricsPort: number): GatewayConfig =>
    configSchema.parse({
      server: { port: options.port, metricsPort },
      admin: { token: adminToken },
      upstream: { baseUrl: simulatorUrl, keys: [{ alias: "simulator", key: SIMULATOR_KEY }] },
      store: { kind: "memory" },
      tenants: [
        {
          id: "demo",
          name: "Demo tenant",
          keys: [{ hash: hashGatewayKey(demoKey), label: "demo" }],
          upstreamKey: "simulator",
          dailyCapUsd: 5,
        },
      ],
    });
  const logger = createLogger(process.env.LOG_LEVEL ?? "warn");
  let gateway;
  try {
    gateway = await startOnMetricsPort(config, options.metricsPort, logger);
  } catch (err) {
    await simulator.close();
    if (!reportBusyPort(err, "--port")) throw err;
    return;
  }
  const base = gateway.url.replace("127.0.0.1", "localhost");
  const ops = gateway.metricsUrl.replace("127.0.0.1", "localhost").replace(/\/metrics$/, "");
  const moved =
    options.metricsPort !== 0 && !ops.endsWith(`:${options.metricsPort}`)
      ? `   (port ${options.metricsPort} was busy)`
      : "";
  process.stdout.write(
    [
      "",
      `APIXO simulator: ${simulatorUrl}   (stands in for https://api.apixo.ai, spends no money)`,
      `apixo-gateway:   ${base}   (tenant 'demo', daily cap $5.00, in-memory store)`,
      `metrics, admin:  ${ops}${moved}   (Prometheus scrapes ${ops}/metrics; not on the public port)`,
      "",
      "The demo tenant's gateway key (made for this run only):",
      `  export APIXO_GATEWAY_KEY=${demoKey}`,
      "",
      "Submit a task (paste into another terminal):",
      `  TASK_ID=$(curl -s -X POST "${base}/api/v1/generateTask/nano-banana" \\`,
      `    -H "Authorization: Bearer ${demoKey}" -H "Content-Type: application/json" \\`,
      `    -H "X-Gateway-User: ann@example.com" -H "X-Gateway-Feature: thumbnails" \\`,
      `    -d '{"request_type":"async","input":{"mode":"text-to-image","prompt":"a lighthouse at dawn"}}' \\`,
      `    | sed -E 's/.*"taskId":"([^"]+)".*/\\1/'); echo "task $TASK_ID"`,
      "",
      "Poll it (pending -> processing -> success within about 4 s):",
      `  curl -s "${base}/api/v1/statusTask/nano-banana?taskId=$TASK_ID" -H "Authorization: Bearer ${demoKey}"; echo`,
      "",
      "What the tenant may still spend today:",
      `  curl -s "${base}/api/v1/apikeys/current-balance" -H "Authorization: Bearer ${demoKey}"; echo`,
      "",
      "The admin API's token (made for this run only) and the usage view: spend today per tenant, and by day:",
      `  export APIXO_GATEWAY_ADMIN_TOKEN=${adminToken}`,
      `  curl -s "${ops}/admin/tenants" -H "Authorization: Bearer ${adminToken}"; echo`,
      `  curl -s "${ops}/admin/tenants/demo/usage?days=7" -H "Authorization: Bearer ${adminToken}"; echo`,
      "  # or as tables:",
      `  APIXO_GATEWAY_ADMIN_TOKEN=${adminToken} ${selfCommand()} usage --admin-url ${ops}`,
      `  APIXO_GATEWAY_ADMIN_TOKEN=${adminToken} ${selfCommand()} usage --admin-url ${ops} --tenant demo`,
      "  # who spent it this month (X-Gateway-User), as CSV:",
      `  APIXO_GATEWAY_ADMIN_TOKEN=${adminToken} ${selfCommand()} usage --admin-url ${ops} --tenant demo --by user --format csv`,
      "",
      "The gateway's metrics (what the dashboards read):",
      `  curl -s "${ops}/metrics" | grep apixo_gateway_spend`,
      "",
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  const stop = (): void => {
    void gateway
      .close()
      .then(() => simulator.close())
      .then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
