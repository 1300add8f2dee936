import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildDashboards } from "../../dashboards/src/index.js";
import { startGateway, type RunningGateway } from "../../src/gateway/gateway.js";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { buildTestConfig, UPSTREAM_KEY } from "../helpers/gatewayHarness.js";
import { freePort } from "../helpers/ports.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";

/**
 * The stack of docker-compose.yml with native binaries: redis-server, the simulator, the gateway and the Debian
 * `prometheus` with the repo's rules. Traffic covers successes, failed tasks, upstream faults, store errors,
 * rate-limit and spend-cap rejections; then every dashboard query must return data and the spend-cap alert fire.
 */

const ROOT = join(import.meta.dirname, "..", "..");
const PROMETHEUS = process.env.PROMETHEUS ?? "prometheus";

// The README's test command needs the Debian prometheus binary; a missing one fails here, it is never skipped.
const present = spawnSync(PROMETHEUS, ["--version"], { encoding: "utf8" }).status === 0;

/** Grafana's variables, as Grafana expands them with "All" selected and a short time range. */
function expand(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__range", "10m")
    .replaceAll("$tenant", ".*")
    .replaceAll("$model", ".*");
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : JSON.stringify(err);
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${last}`}`);
}

interface PromVector {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}
interface JsonDashboard {
  title: string;
  panels: { title: string; targets?: { expr: string }[] }[];
}
interface PromAlerts {
  data: { alerts: { labels: Record<string, string>; state: string }[] };
}

let redis: RedisServer | undefined;
let sim: Simulator | undefined;
let gateway: RunningGateway | undefined;
let prometheus: ChildProcess | undefined;
let prometheusLog = "";
let promUrl = "";
let dir = "";
let keys: Record<string, string> = {};

async function call(
  path: string,
  tenant: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (tenant !== undefined) headers.authorization = `Bearer ${keys[tenant] ?? tenant}`;
  const res = await fetch(`${gateway!.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

async function submit(
  tenant: string | undefined,
  model: string,
  prompt = "a lighthouse at dusk",
): Promise<number> {
  const { status, json } = await call(`/api/v1/generateTask/${model}`, tenant, { input: { prompt } });
  if (status === 200) {
    const taskId = (json as { data: { taskId: string } }).data.taskId;
    // pendingMs/processingMs are 0: the task has ended by the time it is read.
    await call(`/api/v1/statusTask/${model}?taskId=${taskId}`, tenant);
  }
  return status;
}

async function promQuery(expr: string): Promise<PromVector> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as PromVector;
}

async function startPrometheus(metricsUrl: string): Promise<void> {
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  // The repo's rules with every `for:` cut to 1s, so a driven condition shows within the test's time.
  const rules = (await readFile(join(ROOT, "deploy", "prometheus", "rules.yml"), "utf8")).replace(
    /^(\s+)for: \S+$/gm,
    "$1for: 1s",
  );
  await writeFile(join(dir, "rules.yml"), rules);
  const target = new URL(metricsUrl);
  await writeFile(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [join(dir, "rules.yml")],
      scrape_configs: [
        {
          job_name: "apixo-gateway",
          metrics_path: target.pathname,
          static_configs: [{ targets: [target.host] }],
        },
      ],
    }),
  );
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  prometheus.stderr?.on("data", (chunk: Buffer) => {
    prometheusLog = (prometheusLog + chunk.toString("utf8")).slice(-20_000);
  });
  await until("prometheus to be ready", 20_000, async () => {
    const res = await fetch(`${promUrl}/-/ready`);
    return res.ok ? true : undefined;
  });
  await until("the first scrape of the gateway", 20_000, async () => {
    const up = await promQuery('up{job="apixo-gateway"}');
    return up.data.result.some((r) => r.value[1] === "1") ? true : undefined;
  });
}

async function driveTraffic(configPath: string): Promise<void> {
  // Redis down first (its data is not persisted): store errors and 503s, then it comes back.
  await redis!.stop();
  for (let i = 0; i < 3; i++) expect(await submit("acme", "nano-banana")).toBe(503);
  await redis!.restart();
  await until("the gateway to be ready again", 15_000, async () => {
    const res = await fetch(`${gateway!.url}/readyz`);
    return res.ok ? true : undefined;
  });

  // Successes, and tasks that end failed (refunded) with the fail codes the alerts watch.
  for (const model of ["nano-banana", "flux2", "nano-banana", "midjourney"]) {
    expect(await submit("acme", model)).toBe(200);
  }
  expect(await submit("acme", "nano-banana", "sim:violation please")).toBe(200);
  expect(await submit("acme", "flux2", "sim:timeout please")).toBe(200);
  expect((await call("/api/v1/apikeys/current-balance", "acme")).status).toBe(200);

  // Upstream faults: reset, APIXO 5xx, an answer that is not JSON.
  sim!.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
  expect(await submit("acme", "flux2")).toBe(502);
  sim!.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "status", status: 503 } });
  expect(await submit("acme", "flux2")).toBe(503);
  sim!.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "garbage" } });
  expect(await submit("acme", "flux2")).toBe(502);

  // Refused by the gateway: unknown key, model not allowed, invalid body, rate and in-flight limits.
  expect(await submit(undefined, "nano-banana")).toBe(401);
  expect(await submit("tiny", "flux2")).toBe(403);
  expect((await call("/api/v1/generateTask/nano-banana", "acme", {})).status).toBe(400);
  const tinyStatuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const { status } = await call("/api/v1/generateTask/nano-banana", "tiny", { input: { prompt: "x" } });
    tinyStatuses.push(status);
  }
  expect(tinyStatuses).toContain(429);

  // Spend cap: `capped` can afford two nano-banana tasks; the rest are refused with 402.
  const cappedStatuses: number[] = [];
  for (let i = 0; i < 4; i++) cappedStatuses.push(await submit("capped", "nano-banana"));
  expect(cappedStatuses).toContain(200);
  expect(cappedStatuses).toContain(402);

  // A good reload, then a bad one (the old config stays).
  expect(await gateway!.reload()).toBe(true);
  const good = await readFile(configPath, "utf8");
  await writeFile(configPath, "tenants: not-a-list\n");
  expect(await gateway!.reload()).toBe(false);
  await writeFile(configPath, good);
}

beforeAll(async () => {
  if (!present) throw new Error(`${PROMETHEUS} not found: apt-get install prometheus`);
  dir = await mkdtemp(join(tmpdir(), "apixo-stack-"));
  redis = await startRedisServer();
  sim = createSimulator({ keys: { [UPSTREAM_KEY]: 1_000 }, pendingMs: 0, processingMs: 0 });
  const simUrl = await sim.listen(0);
  const built = buildTestConfig(simUrl, {
    redisUrl: redis.url,
    config: {
      server: { metricsPort: await freePort(), metricsHost: "127.0.0.1" },
      telemetry: { balancePollSeconds: 1 },
    },
    tenants: [
      { id: "acme", dailyCapUsd: 100 },
      { id: "capped", dailyCapUsd: 0.07 },
      {
        id: "tiny",
        allowedModels: ["nano-banana"],
        dailyCapUsd: 5,
        limits: { submit: { ratePerSec: 0.1, burst: 3 }, maxInFlight: 2 },
      },
    ],
  });
  keys = built.keys;
  const configPath = join(dir, "gateway.yaml");
  await writeFile(configPath, stringify(built.config));
  gateway = await startGateway({ config: built.config, configPath, logger: createLogger("silent") });
  await startPrometheus(gateway.metricsUrl);
  await driveTraffic(configPath);
}, 120_000);

afterAll(async () => {
  const child = prometheus;
  if (child?.exitCode === null) {
    const exited = new Promise<boolean>((resolve) => child.once("exit", () => resolve(true)));
    child.kill("SIGTERM");
    if (!(await Promise.race([exited, sleep(5_000).then(() => false)]))) child.kill("SIGKILL");
  }
  await gateway?.close();
  await sim?.close();
  await redis?.stop();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
}, 30_000);

describe("the monitoring stack (native binaries)", () => {
  it("every dashboard panel query is valid PromQL and returns data", async () => {
    // What Grafana loads: the committed JSON (test/unit/dashboards.test.ts proves it is what the code generates).
    const queries: { panel: string; expr: string }[] = [];
    for (const { file } of buildDashboards()) {
      const dashboard = JSON.parse(await readFile(join(ROOT, "dashboards", file), "utf8")) as JsonDashboard;
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) {
          queries.push({ panel: `${dashboard.title} / ${panel.title}`, expr: expand(target.expr) });
        }
      }
    }
    expect(queries.length).toBeGreaterThan(30);
    let empty: string[] = [];
    try {
      await until("every panel query to return data", 60_000, async () => {
        empty = [];
        for (const q of queries) {
          const answer = await promQuery(q.expr).catch(() => undefined);
          if (answer === undefined) empty.push(`${q.panel}: prometheus did not answer: ${q.expr}`);
          else if (answer.status !== "success") empty.push(`${q.panel}: invalid query: ${q.expr}`);
          else if (answer.data.result.length === 0) empty.push(`${q.panel}: no data: ${q.expr}`);
        }
        return empty.length === 0 ? true : undefined;
      });
    } catch {
      // Name the panels that stayed empty rather than only "timed out".
    }
    expect(empty).toEqual([]);
  }, 90_000);

  it("the spend cap being exhausted makes ApixoGatewaySpendCapExhausted go pending or firing", async () => {
    const state = await until("ApixoGatewaySpendCapExhausted for tenant capped", 30_000, async () => {
      // Keep knocking: each refused submit is one more increase of rejections_total{reason="spend_cap"}.
      await submit("capped", "nano-banana");
      const res = await fetch(`${promUrl}/api/v1/alerts`);
      const { data } = (await res.json()) as PromAlerts;
      return data.alerts.find(
        (a) => a.labels.alertname === "ApixoGatewaySpendCapExhausted" && a.labels.tenant === "capped",
      )?.state;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\nprometheus log tail:\n${prometheusLog.slice(-3_000)}`);
    });
    expect(["pending", "firing"]).toContain(state);
  }, 45_000);
});
