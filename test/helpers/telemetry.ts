import { Writable } from "node:stream";
import { configSchema, type GatewayConfig } from "../../src/config/schema.js";
import { startGateway, type GatewayOptions, type RunningGateway } from "../../src/gateway/gateway.js";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { createLogger, type Logger } from "../../src/telemetry/logger.js";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";

/** The simulator's key: the upstream secret that must never show up in a label, a log line or a span. */
export const UPSTREAM_KEY = "sk-sim-test";

export interface Tenants {
  readonly acme: string;
  readonly beta: string;
}

export function tenantKeys(): Tenants {
  return { acme: generateGatewayKey(), beta: generateGatewayKey() };
}

export async function startSim(): Promise<Simulator> {
  const sim = createSimulator({ keys: { [UPSTREAM_KEY]: 100 }, pendingMs: 0, processingMs: 0 });
  await sim.listen(0);
  return sim;
}

/** Two tenants on one upstream key; acme has a $5 daily cap, beta none. Ports 0 (public and metrics). */
export function buildConfig(
  upstreamUrl: string,
  keys: Tenants,
  extra: {
    telemetry?: Record<string, unknown>;
    acmeLimits?: Record<string, unknown>;
    betaLimits?: Record<string, unknown>;
    store?: Record<string, unknown>;
  } = {},
): GatewayConfig {
  return configSchema.parse({
    server: { port: 0, metricsPort: 0 },
    upstream: { baseUrl: upstreamUrl, keys: [{ alias: "main", key: UPSTREAM_KEY }], timeoutMs: 5_000 },
    store: { kind: "memory", ...extra.store },
    telemetry: { balancePollSeconds: 0, ...extra.telemetry },
    tenants: [
      {
        id: "acme",
        keys: [{ hash: hashGatewayKey(keys.acme) }],
        upstreamKey: "main",
        dailyCapUsd: 5,
        allowedModels: ["nano-banana", "flux2", "sora-2"],
        ...(extra.acmeLimits === undefined ? {} : { limits: extra.acmeLimits }),
      },
      {
        id: "beta",
        keys: [{ hash: hashGatewayKey(keys.beta) }],
        upstreamKey: "main",
        ...(extra.betaLimits === undefined ? {} : { limits: extra.betaLimits }),
      },
    ],
  });
}

/** Every log line the gateway writes, parsed, plus the raw text to grep. */
export interface CapturedLogs {
  readonly logger: Logger;
  lines(): Record<string, unknown>[];
  text(): string;
}

export function captureLogs(level = "info"): CapturedLogs {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger(level, stream);
  return {
    logger,
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export async function startTestGateway(
  config: GatewayConfig,
  logger: Logger,
  extra: Omit<GatewayOptions, "config" | "logger"> = {},
): Promise<RunningGateway> {
  return startGateway({ config, logger, ...extra });
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
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(
    `${gateway.url}/api/v1/statusTask/${encodeURIComponent(model)}?taskId=${encodeURIComponent(taskId)}`,
    { headers: { authorization: `Bearer ${key}` } },
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
