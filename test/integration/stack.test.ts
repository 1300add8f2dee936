import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { buildDashboards } from "../../dashboards/src/index.js";
import { startGateway, type RunningGateway } from "../../src/gateway/gateway.js";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { buildTestConfig, UPSTREAM_KEY } from "../helpers/gatewayHarness.js";
import { gatewaySeries } from "../helpers/metricCatalog.js";
import { analyse } from "../helpers/promqlCheck.js";
import { freePort } from "../helpers/ports.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";

/**
 * The stack of docker-compose.yml with native binaries: redis-server, the simulator, the gateway and the Debian
 * `prometheus` with the repo's rules (evaluated every second). Traffic covers successes, failed tasks, upstream
 * faults, rate-limit and spend-cap rejections (daily and monthly), a tenant near its caps, spend by feature and a
 * store outage; then every dashboard
 * query and every alert expression goes through Prometheus' HTTP API: it must parse, select only series and
 * labels Prometheus has, return data where the traffic made some, and the alerts the traffic provoked must fire
 * while those it did not stay quiet.
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
    .replaceAll("$model", ".*")
    .replaceAll("$instance", ".*");
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
interface PromList {
  status: string;
  data: unknown[];
}
interface AlertRule {
  alert: string;
  expr: string;
}

/** Born with their first event, and the traffic here makes none (no orphan, no callback to a tenant URL). */
const NOT_PRODUCED = new Set([
  "apixo_gateway_ledger_orphans_total",
  "apixo_gateway_callback_delivery_seconds_bucket",
]);
/** Panels whose every series is one of those: empty is right for this traffic. */
const MAY_BE_EMPTY = new Set(["APIXO gateway / Tasks / Callback delivery time p50 / p95 by outcome"]);

const lookup = gatewaySeries();

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
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
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
  headers: Record<string, string> = {},
): Promise<number> {
  const { status, json } = await call(
    `/api/v1/generateTask/${model}`,
    tenant,
    { input: { prompt } },
    headers,
  );
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

async function firing(alertname: string, tenant?: string): Promise<string | undefined> {
  const res = await fetch(`${promUrl}/api/v1/alerts`);
  const { data } = (await res.json()) as PromAlerts;
  return data.alerts.find(
    (a) => a.labels.alertname === alertname && (tenant === undefined || a.labels.tenant === tenant),
  )?.state;
}

async function untilFiring(alertname: string, tenant?: string): Promise<void> {
  await until(`${alertname}${tenant === undefined ? "" : ` for ${tenant}`} to fire`, 30_000, async () =>
    (await firing(alertname, tenant)) === "firing" ? true : undefined,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nprometheus log tail:\n${prometheusLog.slice(-3_000)}`);
  });
}

/** What the store outage showed while Redis was down (asserted in the tests below). */
const outage = {
  spendTodayOfNear: [] as string[],
  spendMonthOfNear: [] as string[],
  ageSeconds: 0,
  nearAlert: undefined as string | undefined,
  nearMonthlyAlert: undefined as string | undefined,
};

async function driveTraffic(configPath: string): Promise<void> {
  // Successes, and tasks that end failed (refunded) with the fail codes the alerts watch; by feature (listed,
  // unlisted, none) and end user.
  const search = { "x-gateway-feature": "search", "x-gateway-user": "stack-user-1" };
  for (const model of ["nano-banana", "flux2", "nano-banana", "midjourney"]) {
    expect(await submit("acme", model, undefined, search)).toBe(200);
  }
  expect(
    await submit("acme", "nano-banana", "sim:violation please", { "x-gateway-feature": "unlisted" }),
  ).toBe(200);
  expect(await submit("acme", "flux2", "sim:timeout please")).toBe(200);
  expect((await call("/api/v1/apikeys/current-balance", "acme")).status).toBe(200);
  // Health probes: the orchestrator's, never in the request metrics.
  for (let i = 0; i < 20; i++) expect((await fetch(`${gateway!.url}/healthz`)).status).toBe(200);

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

  // Spend cap: `capped` can afford two nano-banana tasks; the rest are refused with 402. `near` spends 90 %.
  const cappedStatuses: number[] = [];
  for (let i = 0; i < 4; i++) cappedStatuses.push(await submit("capped", "nano-banana"));
  expect(cappedStatuses).toContain(200);
  expect(cappedStatuses).toContain(402);
  for (let i = 0; i < 3; i++) expect(await submit("near", "nano-banana")).toBe(200);
  // Monthly cap: `monthly` can afford two nano-banana tasks this month (its day has room); the third is a 402.
  const monthlyStatuses: number[] = [];
  for (let i = 0; i < 3; i++) monthlyStatuses.push(await submit("monthly", "nano-banana"));
  expect(monthlyStatuses).toEqual([200, 200, 402]);

  // A good reload, then a bad one (the old config stays).
  expect(await gateway!.reload()).toBe(true);
  const good = await readFile(configPath, "utf8");
  await writeFile(configPath, "tenants: not-a-list\n");
  expect(await gateway!.reload()).toBe(false);
  await writeFile(configPath, good);

  // The store outage, once the spend-cap alert fires: it must hold through it (the gauges keep their values).
  await untilFiring("ApixoGatewaySpendCapAt80Percent", "near");
  await untilFiring("ApixoGatewayMonthlySpendCapAt80Percent", "near");
  await redis!.stop();
  for (let i = 0; i < 8; i++) expect(await submit("acme", "nano-banana")).toBe(503);
  await sleep(3_000);
  const spend = await promQuery('apixo_gateway_spend_today_usd{tenant="near"}');
  outage.spendTodayOfNear = spend.data.result.map((r) => r.value[1]);
  const month = await promQuery('apixo_gateway_spend_month_usd{tenant="near"}');
  outage.spendMonthOfNear = month.data.result.map((r) => r.value[1]);
  const age = await promQuery("max(apixo_gateway_budget_read_age_seconds)");
  outage.ageSeconds = Number(age.data.result[0]?.value[1] ?? 0);
  outage.nearAlert = await firing("ApixoGatewaySpendCapAt80Percent", "near");
  outage.nearMonthlyAlert = await firing("ApixoGatewayMonthlySpendCapAt80Percent", "near");
  await untilFiring("ApixoGatewayStoreErrors");
  await redis!.restart();
  await until("the gateway to be ready again", 15_000, async () => {
    const res = await fetch(`${gateway!.url}/readyz`);
    return res.ok ? true : undefined;
  });
  // After the outage: traffic again, so the ratio panels have fresh requests to divide by (a scrape apart).
  expect(await submit("acme", "nano-banana")).toBe(200);
  for (let i = 0; i < 3; i++) {
    expect((await call("/api/v1/apikeys/current-balance", "near")).status).toBe(200);
    await sleep(1_100);
  }
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
      telemetry: { balancePollSeconds: 1, featureLabels: ["search"] },
    },
    tenants: [
      { id: "acme", dailyCapUsd: 100 },
      { id: "capped", dailyCapUsd: 0.07 },
      { id: "near", dailyCapUsd: 0.1, monthlyCapUsd: 0.1 },
      { id: "monthly", dailyCapUsd: 100, monthlyCapUsd: 0.07 },
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

/** Every series the expression selects exists in Prometheus, with every label its matchers name. */
async function unknownReferences(expr: string): Promise<string[]> {
  const problems: string[] = [];
  for (const { series, matchers } of analyse(expr, lookup).selectors) {
    if (NOT_PRODUCED.has(series)) continue;
    const found = (await (
      await fetch(`${promUrl}/api/v1/labels?match[]=${encodeURIComponent(series)}`)
    ).json()) as PromList;
    if (found.status !== "success" || !found.data.includes("__name__")) {
      problems.push(`unknown series ${series}`);
      continue;
    }
    for (const { label } of matchers) {
      if (label !== "__name__" && !found.data.includes(label))
        problems.push(`${series} has no label ${label}`);
    }
  }
  return problems;
}

describe("the monitoring stack (native binaries)", () => {
  it("every dashboard panel query parses, references real series and labels, and returns data", async () => {
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
    let problems: string[] = [];
    try {
      await until("every panel query to return data", 60_000, async () => {
        problems = [];
        for (const q of queries) {
          const answer = await promQuery(q.expr).catch(() => undefined);
          if (answer === undefined) problems.push(`${q.panel}: prometheus did not answer: ${q.expr}`);
          else if (answer.status !== "success") problems.push(`${q.panel}: invalid query: ${q.expr}`);
          else if (answer.data.result.length === 0 && !MAY_BE_EMPTY.has(q.panel))
            problems.push(`${q.panel}: no data: ${q.expr}`);
          for (const p of await unknownReferences(q.expr)) problems.push(`${q.panel}: ${p}`);
        }
        return problems.length === 0 ? true : undefined;
      });
    } catch {
      // Name the panels that failed rather than only "timed out".
    }
    expect(problems).toEqual([]);
  }, 90_000);

  it("reads 0, not no data, for the 5xx share of a tenant that had no 5xx", async () => {
    const panel = (await readFile(join(ROOT, "dashboards", "overview.json"), "utf8"))
      .split("\n")
      .find((line) => line.includes('code=~\\"5..\\"') && line.includes("[5m]"));
    const expr = (JSON.parse(`{${panel?.trim().replace(/,$/, "") ?? ""}}`) as { expr: string }).expr;
    const answer = await promQuery(expand(expr).replaceAll('tenant=~".*"', 'tenant="near"'));
    expect(answer.data.result.map((r) => r.value[1])).toEqual(["0"]);
  });

  it("every alert expression parses and references real series and labels", async () => {
    const rules = parse(await readFile(join(ROOT, "deploy", "prometheus", "rules.yml"), "utf8")) as {
      groups: { rules: AlertRule[] }[];
    };
    const problems: string[] = [];
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      const answer = await promQuery(rule.expr);
      if (answer.status !== "success") problems.push(`${rule.alert}: invalid expression`);
      for (const p of await unknownReferences(rule.expr)) problems.push(`${rule.alert}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it("fires the alerts the traffic provoked", async () => {
    await untilFiring("ApixoGatewaySpendCapExhausted", "capped");
    await untilFiring("ApixoGatewayConfigReloadFailed");
    await untilFiring("ApixoGatewayRateLimitHitsHigh", "tiny");
    await untilFiring("ApixoGatewayMonthlySpendCapExhausted", "monthly");
    // Refused by its monthly cap only: the daily cap's exhaustion stays quiet for it.
    expect(await firing("ApixoGatewaySpendCapExhausted", "monthly")).toBeUndefined();
    // Seen during the outage (driveTraffic): 8 refused submits were enough.
    expect(await firing("ApixoGatewayStoreErrors")).toBeDefined();
  }, 90_000);

  it("holds the spend-cap alerts and the budget gauges (day and month) through a store outage", () => {
    expect(outage.spendTodayOfNear.map(Number)).toEqual([0.09]);
    expect(outage.spendMonthOfNear.map(Number)).toEqual([0.09]);
    expect(outage.ageSeconds).toBeGreaterThan(1);
    expect(outage.nearAlert).toBe("firing");
    expect(outage.nearMonthlyAlert).toBe("firing");
  });

  // ApixoGatewayHighOverhead is not on this list: the submits refused during the store outage waited for the
  // store inside the gateway, which is gateway time, and may rightly push the submit p95 over 50 ms.
  it("stays quiet where nothing is wrong: no cost spike on a fresh Prometheus, no drift, shedding or open circuit", async () => {
    for (const alertname of [
      "ApixoGatewayCostSpike",
      "ApixoGatewayHighLatency",
      "ApixoGatewayCostDrift",
      "ApixoGatewayLoadShedding",
      "ApixoGatewayUpstreamCircuitOpen",
    ]) {
      expect(await firing(alertname), alertname).toBeUndefined();
    }
  });
});
