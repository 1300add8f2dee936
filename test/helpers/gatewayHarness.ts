import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { configSchema, type GatewayConfig } from "../../src/config/schema.js";
import { startGateway, type GatewayOptions, type RunningGateway } from "../../src/gateway/gateway.js";
import { createSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";
import { createLogger } from "../../src/telemetry/logger.js";

export const UPSTREAM_KEY = "sk-sim-upstream-secret-0123456789";

/** Limits that tests of plain proxying never reach; governance tests set their own. */
export const GENEROUS_LIMITS = {
  submit: { ratePerSec: 10_000, burst: 10_000 },
  status: { ratePerSec: 10_000, burst: 10_000 },
  balance: { ratePerSec: 10_000, burst: 10_000 },
  maxInFlight: null,
};

/** Log lines of one gateway, kept for assertions (e.g. that no key is ever logged). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(
      ...chunk
        .toString("utf8")
        .split("\n")
        .filter((l) => l !== ""),
    );
    callback();
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TenantSpec {
  readonly id: string;
  readonly [field: string]: unknown;
}

export interface HarnessOptions {
  readonly tenants?: readonly TenantSpec[];
  readonly simulator?: Partial<SimulatorOptions>;
  /** Deep-merged over the generated config sections (server, upstream, store, governance...). */
  readonly config?: Record<string, Record<string, unknown>>;
  readonly gateway?: Partial<Omit<GatewayOptions, "config" | "logger">>;
  /** Use a shared Redis at this URL (unique key prefix per harness) instead of the memory store. */
  readonly redisUrl?: string;
  /** Plain keys for these tenants (from freshKeys, to share them between gateways); others get fresh ones. */
  readonly keys?: Readonly<Record<string, string>>;
  /** The gateway's log level; "info" by default. */
  readonly logLevel?: string;
}

/** A gateway under test, in front of some upstream; close() stops the gateway only. */
export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly config: GatewayConfig;
  readonly logs: LogCapture;
  readonly url: string;
  /** tenant id -> its (plain) gateway key */
  readonly keys: Readonly<Record<string, string>>;
  auth(tenantId: string): { authorization: string };
  close(): Promise<void>;
}

/** A gateway with its own simulator; close() stops both. */
export interface Harness extends TestGateway {
  readonly simulator: Simulator;
}

/** Fresh plain gateway keys, one per tenant id. */
export function freshKeys<Id extends string>(...ids: Id[]): Record<Id, string> {
  return Object.fromEntries(ids.map((id) => [id, generateGatewayKey()])) as Record<Id, string>;
}

/** Builds a valid config object for tests: a tenant list with keys (fresh unless given), the simulator as upstream. */
export function buildTestConfig(
  simulatorUrl: string,
  options: HarnessOptions,
): { config: GatewayConfig; keys: Record<string, string> } {
  const keys: Record<string, string> = {};
  const tenants = (options.tenants ?? [{ id: "acme" }]).map((spec) => {
    const key = options.keys?.[spec.id] ?? generateGatewayKey();
    keys[spec.id] = key;
    return {
      keys: [{ hash: hashGatewayKey(key), label: `${spec.id} key` }],
      upstreamKey: "main",
      limits: GENEROUS_LIMITS,
      ...spec,
    };
  });
  const sections = options.config ?? {};
  const config = configSchema.parse({
    ...sections,
    server: { port: 0, metricsPort: 0, ...sections.server },
    upstream: {
      baseUrl: simulatorUrl,
      keys: [{ alias: "main", key: UPSTREAM_KEY }],
      timeoutMs: 5_000,
      connectTimeoutMs: 1_000,
      ...sections.upstream,
    },
    store:
      options.redisUrl === undefined
        ? { kind: "memory", ...sections.store }
        : {
            kind: "redis",
            redisUrl: options.redisUrl,
            keyPrefix: `t${randomUUID().slice(0, 8)}`,
            ...sections.store,
          },
    tenants,
  });
  return { config, keys };
}

/** A simulator on a free loopback port, answering at once, with UPSTREAM_KEY funded. */
export async function startSimulator(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const simulator = createSimulator({
    keys: { [UPSTREAM_KEY]: 1_000 },
    pendingMs: 0,
    processingMs: 0,
    ...options,
  });
  await simulator.listen(0);
  return simulator;
}

/** A real gateway on free loopback ports in front of `simulator` (which several gateways may share). */
export async function startGatewayOn(
  simulator: Simulator,
  options: HarnessOptions = {},
): Promise<TestGateway> {
  const { config, keys } = buildTestConfig(simulator.url, options);
  const logs = new LogCapture();
  const gateway = await startGateway({
    config,
    logger: createLogger(options.logLevel ?? "info", logs),
    ...options.gateway,
  });
  return {
    gateway,
    config,
    logs,
    url: gateway.url,
    keys,
    auth: (tenantId) => ({ authorization: `Bearer ${keys[tenantId] ?? "missing-tenant"}` }),
    close: () => gateway.close(),
  };
}

/** A real simulator and a real gateway on free loopback ports; close() stops both. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const simulator = await startSimulator(options.simulator);
  const running = await startGatewayOn(simulator, options);
  return {
    ...running,
    simulator,
    async close() {
      await running.close();
      await simulator.close();
    },
  };
}
