import { afterAll, afterEach, beforeAll } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  freshKeys,
  startGatewayOn,
  startSimulator,
  type HarnessOptions,
  type LogCapture,
} from "./gatewayHarness.js";

/**
 * The telemetry tests' own upstream secret, which must never show up in a label, a log line or a span
 * (tracing.test.ts looks for this very string). Its balance starts at $100.
 */
export const UPSTREAM_KEY = "sk-sim-test";

export type Tenants = Readonly<Record<"acme" | "beta", string>>;

/** Made once per test file, so that every gateway of the file knows the same keys. */
export function tenantKeys(): Tenants {
  return freshKeys("acme", "beta");
}

export function startSim(): Promise<Simulator> {
  return startSimulator({ keys: { [UPSTREAM_KEY]: 100 } });
}

export interface TelemetryGatewayOptions extends Pick<HarnessOptions, "gateway" | "logLevel"> {
  readonly telemetry?: Record<string, unknown>;
  /** Omitted: the schema's default limits (which these tests were written against), not GENEROUS_LIMITS. */
  readonly acmeLimits?: Record<string, unknown>;
  readonly betaLimits?: Record<string, unknown>;
  readonly store?: Record<string, unknown>;
  readonly governance?: Record<string, unknown>;
}

/** Every log line the gateway writes, parsed, plus the raw text to grep. */
export interface CapturedLogs {
  lines(): Record<string, unknown>[];
  text(): string;
}

function captured(logs: LogCapture): CapturedLogs {
  return { lines: () => logs.records(), text: () => logs.lines.join("\n") };
}

/**
 * A gateway in front of `sim`: two tenants on one upstream key, acme with a $5 daily cap and three
 * allowed models, beta with neither; no balance polling unless asked. Ports 0 (public and metrics).
 */
export async function startTestGateway(
  sim: Simulator,
  keys: Tenants,
  options: TelemetryGatewayOptions = {},
): Promise<{ gateway: RunningGateway; logs: CapturedLogs }> {
  const { telemetry, acmeLimits, betaLimits, store, governance, ...harness } = options;
  const started = await startGatewayOn(sim, {
    ...harness,
    keys,
    tenants: [
      {
        id: "acme",
        dailyCapUsd: 5,
        allowedModels: ["nano-banana", "flux2", "sora-2"],
        limits: acmeLimits ?? {},
      },
      { id: "beta", limits: betaLimits ?? {} },
    ],
    config: {
      upstream: { keys: [{ alias: "main", key: UPSTREAM_KEY }] },
      telemetry: { balancePollSeconds: 0, ...telemetry },
      store: store ?? {},
      governance: governance ?? {},
    },
  });
  return { gateway: started.gateway, logs: captured(started.logs) };
}

export async function submit(
  gateway: RunningGateway,
  key: string,
  model: string,
  prompt = "a lighthouse at dawn",
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { data?: { taskId?: string } | null } & Record<string, unknown> }> {
  const res = await fetch(`${gateway.url}/api/v1/generateTask/${encodeURIComponent(model)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ input: { prompt } }),
  });
  return { status: res.status, body: (await res.json()) as { data?: { taskId?: string } | null } };
}

export async function poll(
  gateway: RunningGateway,
  key: string,
  model: string,
  taskId: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(
    `${gateway.url}/api/v1/statusTask/${encodeURIComponent(model)}?taskId=${encodeURIComponent(taskId)}`,
    { headers: { authorization: `Bearer ${key}`, ...headers } },
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Submits and polls until the task ends (the simulator runs with zero pending/processing time). */
export async function submitAndFinish(
  gateway: RunningGateway,
  key: string,
  model: string,
  prompt?: string,
): Promise<string> {
  const submitted = await submit(gateway, key, model, prompt);
  const taskId = submitted.body.data?.taskId;
  if (submitted.status !== 200 || taskId === undefined) throw new Error(`submit failed: ${submitted.status}`);
  for (let i = 0; i < 50; i++) {
    const status = await poll(gateway, key, model, taskId);
    const state = (status.body.data as { state?: string } | undefined)?.state;
    if (state === "success" || state === "failed") return taskId;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`task ${taskId} did not finish`);
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export async function scrape(gateway: RunningGateway): Promise<string> {
  const res = await fetch(gateway.metricsUrl);
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
  return res.text();
}

/** The Prometheus text format, samples only (enough for these tests: no escaped quotes in our label values). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) throw new Error(`unparseable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample matching name and (a subset of) labels; undefined if none. */
export function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

export const metric = (suffix: string): string => `apixo_gateway_${suffix}`;

/** What a metrics test file shares: one simulator, the tenants' keys, and the gateways each test started. */
export interface TelemetryFixture {
  readonly keys: Tenants;
  readonly sim: Simulator;
  /** A gateway stopped after the test; `options` are its GatewayOptions when given. */
  gateway(
    extra?: TelemetryGatewayOptions,
    options?: TelemetryGatewayOptions["gateway"],
  ): Promise<RunningGateway>;
}

/**
 * Registers the file's hooks: the simulator started once, every gateway a test started closed after it and
 * the simulator reset, the simulator closed at the end.
 */
export function telemetryFixture(): TelemetryFixture {
  let sim: Simulator | undefined;
  const keys = tenantKeys();
  const started: RunningGateway[] = [];
  const running = (): Simulator => {
    if (sim === undefined) throw new Error("the simulator starts in beforeAll");
    return sim;
  };
  beforeAll(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((gw) => gw.close()));
    sim?.reset();
  });
  afterAll(async () => {
    await sim?.close();
  });
  return {
    keys,
    get sim() {
      return running();
    },
    async gateway(extra = {}, options) {
      const merged = options === undefined ? extra : { ...extra, gateway: options };
      const { gateway: gw } = await startTestGateway(running(), keys, merged);
      started.push(gw);
      return gw;
    },
  };
}
