import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { stringify } from "yaml";
import { configSchema } from "../src/config/schema.js";
import { generateGatewayKey, hashGatewayKey } from "../src/tenants/keys.js";
import { freePort, MAIN_JS, RESULTS_DIR, spawnProc, type Proc } from "./procs.js";

export const UPSTREAM_KEY = "sk-sim-bench-0123456789abcdef";

/** Limits and caps nothing in the bench reaches: every request takes the full governance path and is admitted. */
const BIG = { ratePerSec: 1_000_000, burst: 1_000_000 };
const LIMITS = { submit: BIG, status: BIG, balance: BIG, maxInFlight: 1_000_000 };

export interface GatewaySpec {
  readonly name: string;
  readonly simulatorUrl: string;
  readonly redisUrl: string;
  /** The governance store (default redis). */
  readonly store?: "redis" | "memory";
  /** Tenants configured; the bench drives only the last one (the worst case for any linear lookup). */
  readonly tenants: number;
  /** OTLP endpoint for tracing, or undefined for tracing off. */
  readonly otlpEndpoint?: string;
  /** The audit log (stdout) goes here. */
  readonly logFile: string;
  readonly nodeArgs?: readonly string[];
  /** The build to run (default: this checkout's, bench/results/dist); `--compare --baseline` runs another. */
  readonly mainJs?: string;
}

/** A process the bench measures: its CPU and memory, and its heap when it serves metrics. */
export interface MeasuredProcess {
  readonly proc: Proc;
  readonly metricsUrl?: string;
}

export interface Gateway extends MeasuredProcess {
  readonly url: string;
  readonly metricsUrl: string;
  /** The gateway key of the tenant the load uses. */
  readonly key: string;
}

export async function startGatewayProcess(spec: GatewaySpec): Promise<Gateway> {
  const port = await freePort();
  const metricsPort = await freePort();
  let key = "";
  const tenants = Array.from({ length: spec.tenants }, (_, i) => {
    key = generateGatewayKey();
    return {
      id: `tenant-${i}`,
      keys: [{ hash: hashGatewayKey(key) }],
      upstreamKey: "main",
      dailyCapUsd: 1_000_000_000,
      limits: LIMITS,
    };
  });
  // Written as given, without the defaults parsing would add: a --baseline build's schema may not know them.
  const config = {
    server: { port, metricsPort },
    upstream: {
      baseUrl: spec.simulatorUrl,
      keys: [{ alias: "main", key: UPSTREAM_KEY }],
      // The shared-account bucket and in-flight cap stay on (their script runs), set far above the load.
      protection: { account: { requestsPerMinute: 1e9, burst: 1_000_000, maxInFlightTasks: 1_000_000 } },
    },
    store:
      spec.store === "memory"
        ? { kind: "memory" }
        : { kind: "redis", redisUrl: spec.redisUrl, keyPrefix: `bench-${spec.name}-${Date.now()}` },
    logging: { level: "info" },
    tenants,
  };
  configSchema.parse(config);
  const file = resolve(RESULTS_DIR, `${spec.name}.config.yaml`);
  writeFileSync(file, stringify(config));
  const proc = await spawnProc({
    name: spec.name,
    command: process.execPath,
    args: [...(spec.nodeArgs ?? []), spec.mainJs ?? MAIN_JS, "serve", "--config", file],
    port,
    stdoutFile: spec.logFile,
    env: {
      LOG_LEVEL: "info",
      NODE_OPTIONS: "",
      OTEL_EXPORTER_OTLP_ENDPOINT: spec.otlpEndpoint ?? "",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
    },
  });
  await waitForMetrics(metricsPort);
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    key,
  };
}

async function waitForMetrics(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`metrics port ${port} did not answer`);
}

/** One gauge's value from a Prometheus text scrape (first series), or undefined. */
export async function scrapeGauge(metricsUrl: string | undefined, name: string): Promise<number | undefined> {
  if (metricsUrl === undefined) return undefined;
  try {
    const text = await (await fetch(metricsUrl)).text();
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}
