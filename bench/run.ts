import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { scrapeGauge, startGatewayProcess, UPSTREAM_KEY, type MeasuredProcess } from "./gateway.js";
import { Client, closedLoop, openLoop, type LoadResult } from "./load.js";
import {
  buildGateway,
  freePort,
  ROOT,
  spawnProc,
  redisScriptCalls,
  cpuMicros,
  loadAverage,
  memory,
  RESULTS_DIR,
  startRedis,
  startSimulator,
  type Proc,
} from "./procs.js";
import { formatProfile, newestProfile, summariseProfile } from "./profile.js";
import { delta, formatScenarios, phaseReport, type CpuPerRequest, type ScenarioReport } from "./report.js";
import { TASK_MS } from "./mix.js";
import { startTraceSink, type TraceSink } from "./sink.js";
import { runSoak } from "./soak.js";

const { values: opts } = parseArgs({
  options: {
    rate: { type: "string", default: "500" },
    duration: { type: "string" },
    warmup: { type: "string", default: "5" },
    saturation: { type: "string", default: "10" },
    concurrency: { type: "string", default: "32" },
    tenants: { type: "string" },
    "no-tracing": { type: "boolean", default: false },
    soak: { type: "boolean", default: false },
    "sample-every": { type: "string", default: "10" },
    profile: { type: "boolean", default: false },
    "wait-idle": { type: "string" },
    "keep-logs": { type: "boolean", default: false },
    "no-floor": { type: "boolean", default: false },
    "gateway-node-args": { type: "string", default: "" },
  },
});

const rate = Number(opts.rate);
const duration = Number(opts.duration ?? (opts.soak ? "600" : "30"));
const warmup = Number(opts.warmup);
const saturationSec = Number(opts.saturation);
const concurrency = Number(opts.concurrency);
/** Extra node flags for every gateway process (e.g. "--max-semi-space-size=32"), to measure a setting. */
const gatewayNodeArgs = opts["gateway-node-args"].split(" ").filter((arg) => arg !== "");
const stamp = new Date().toISOString().replaceAll(":", "-").replace(/\..*/, "");

async function waitIdle(threshold: number): Promise<void> {
  for (let waited = 0; loadAverage() > threshold && waited < 600; waited += 30) {
    process.stdout.write(`load average ${loadAverage()} > ${threshold}; waiting 30 s\n`);
    await new Promise((r) => setTimeout(r, 30_000));
  }
}

interface Procs {
  readonly redis: Proc;
  readonly redisPort: number;
  readonly simulator: Proc;
}

/** Runs one phase and reads every process's CPU time around it. */
async function measured(
  procs: Procs,
  gateway: MeasuredProcess | undefined,
  run: () => Promise<LoadResult>,
): Promise<{ result: LoadResult; cpu: CpuPerRequest }> {
  const pids = [gateway?.proc.pid, procs.simulator.pid, procs.redis.pid];
  const before = pids.map((pid) => (pid === undefined ? 0 : cpuMicros(pid)));
  const commandsBefore = await redisScriptCalls(procs.redisPort);
  const result = await run();
  const commands = (await redisScriptCalls(procs.redisPort)) - commandsBefore;
  const used = pids.map((pid, i) => (pid === undefined ? undefined : cpuMicros(pid) - (before[i] ?? 0)));
  const per = (us: number | undefined): number | undefined =>
    us === undefined ? undefined : Math.round((us / Math.max(1, result.requests)) * 10) / 10;
  return {
    result,
    cpu: {
      gateway: per(used[0]),
      simulator: per(used[1]) ?? 0,
      redis: per(used[2]) ?? 0,
      redisScriptsPerRequest: Math.round((commands / Math.max(1, result.requests)) * 100) / 100,
      gatewayCores:
        used[0] === undefined ? undefined : Math.round((used[0] / 1000 / result.elapsedMs) * 100) / 100,
    },
  };
}

interface Scenario {
  readonly report: ScenarioReport;
  readonly client: Client;
  /** The gateway or floor proxy under load; undefined for the direct scenario. */
  readonly gateway: MeasuredProcess | undefined;
  readonly logFile: string | undefined;
}

async function gatewayScenario(
  name: string,
  description: string,
  simulatorUrl: string,
  redisUrl: string,
  tenants: number,
  sink: TraceSink | undefined,
  nodeArgs: readonly string[] = [],
): Promise<Scenario> {
  const logFile = resolve(RESULTS_DIR, `${stamp}-${name}.audit.log`);
  const gateway = await startGatewayProcess({
    name,
    simulatorUrl,
    redisUrl,
    tenants,
    logFile,
    nodeArgs: [...gatewayNodeArgs, ...nodeArgs],
    ...(sink === undefined ? {} : { otlpEndpoint: sink.url }),
  });
  return {
    report: { name, description, tenants, tracing: sink !== undefined },
    client: new Client({ name, url: gateway.url, authorization: `Bearer ${gateway.key}` }),
    gateway,
    logFile,
  };
}

/** A bare Node.js proxy (bench/floorProxy.ts): what any Node proxy pays here before doing any work of its own. */
async function floorScenario(
  name: string,
  description: string,
  simulatorUrl: string,
  extra: readonly string[],
): Promise<Scenario> {
  const port = await freePort();
  const slug = name.replaceAll(/[^a-z0-9]+/g, "-");
  const logFile = resolve(RESULTS_DIR, `${stamp}-${slug}.audit.log`);
  const proc = await spawnProc({
    name: slug,
    stdoutFile: logFile,
    command: process.execPath,
    args: [
      "--import",
      "tsx",
      resolve(ROOT, "bench/floorProxy.ts"),
      "--port",
      String(port),
      "--upstream",
      simulatorUrl,
      "--key",
      UPSTREAM_KEY,
      ...extra,
    ],
    port,
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    report: { name, description, tenants: undefined, tracing: false },
    client: new Client({ name, url, authorization: "Bearer floor" }),
    gateway: { proc },
    logFile,
  };
}

async function main(): Promise<void> {
  if (opts["wait-idle"] !== undefined) await waitIdle(Number(opts["wait-idle"]));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const loadBefore = loadAverage();
  process.stdout.write(`building the gateway (bench/results/dist)...\n`);
  buildGateway();
  const redis = await startRedis();
  const simulator = await startSimulator(UPSTREAM_KEY, TASK_MS);
  const procs: Procs = { redis: redis.proc, redisPort: redis.port, simulator: simulator.proc };
  const sink = await startTraceSink();
  const owned: Proc[] = [redis.proc, simulator.proc];
  const scenarios: Scenario[] = [];
  try {
    if (opts.soak) {
      const s = await gatewayScenario(
        "gateway-soak",
        "soak",
        simulator.url,
        redis.url,
        Number(opts.tenants ?? "1"),
        undefined,
      );
      scenarios.push(s);
      const soak = await runSoak({
        client: s.client,
        gateway: s.gateway!,
        rate,
        durationSec: duration,
        sampleEverySec: Number(opts["sample-every"]),
      });
      const file = resolve(RESULTS_DIR, `${stamp}-soak.json`);
      writeFileSync(file, JSON.stringify({ machine: machine(loadBefore), soak }, null, 2));
      process.stdout.write(`\n${soak.summary}\n\nJSON: ${file}\n`);
      return;
    }
    if (opts.profile) {
      const dir = resolve(RESULTS_DIR, "prof");
      rmSync(dir, { recursive: true, force: true });
      const s = await gatewayScenario("gateway-prof", "profiled", simulator.url, redis.url, 1, undefined, [
        "--cpu-prof",
        "--cpu-prof-dir",
        dir,
      ]);
      scenarios.push(s);
      await openLoop(s.client, rate, warmup);
      const { result, cpu } = await measured(procs, s.gateway, () => openLoop(s.client, rate, duration));
      process.stdout.write(
        `profiled ${result.requests} requests at ${rate}/s, ${result.errors} errors, gateway ${cpu.gateway} us/req, ${cpu.redisScriptsPerRequest} redis script calls/req\n`,
      );
      for (const sample of result.errorSamples) process.stdout.write(`error: ${sample}\n`);
      await s.gateway!.proc.stop();
      const file = newestProfile(dir);
      if (file === undefined) throw new Error("no .cpuprofile written");
      const summary = summariseProfile(file);
      writeFileSync(resolve(RESULTS_DIR, `${stamp}-profile.json`), JSON.stringify(summary, null, 2));
      process.stdout.write(`\n${formatProfile(summary)}\n`);
      return;
    }

    scenarios.push({
      report: {
        name: "a direct",
        description: "load straight to the simulator",
        tenants: undefined,
        tracing: false,
      },
      client: new Client({ name: "direct", url: simulator.url, authorization: `Bearer ${UPSTREAM_KEY}` }),
      gateway: undefined,
      logFile: undefined,
    });
    if (!opts["no-floor"]) {
      scenarios.push(
        await floorScenario("f0 floor proxy", "bare node:http proxy, keep-alive, no work", simulator.url, []),
      );
      scenarios.push(
        await floorScenario(
          "f1 floor+redis+log",
          "as f0, plus one trivial Lua call and one sync log line per request",
          simulator.url,
          ["--redis", redis.url, "--log"],
        ),
      );
    }
    scenarios.push(
      await gatewayScenario(
        "b gateway",
        "governance + metrics + audit log, tracing off",
        simulator.url,
        redis.url,
        1,
        undefined,
      ),
    );
    if (!opts["no-tracing"]) {
      scenarios.push(
        await gatewayScenario(
          "c gateway+tracing",
          "as b, plus OTLP tracing to a local sink",
          simulator.url,
          redis.url,
          1,
          sink,
        ),
      );
    }
    if (opts.tenants !== undefined) {
      const n = Number(opts.tenants);
      scenarios.push(
        await gatewayScenario(
          `d ${n} tenants`,
          `as b, with ${n} tenants configured (the last one used)`,
          simulator.url,
          redis.url,
          n,
          undefined,
        ),
      );
    }

    for (const s of scenarios) {
      process.stdout.write(`[${s.report.name}] warm-up ${warmup}s, then ${duration}s at ${rate}/s\n`);
      await openLoop(s.client, rate, warmup);
      const { result, cpu } = await measured(procs, s.gateway, () => openLoop(s.client, rate, duration));
      s.report.fixed = { ...phaseReport(result, cpu), ratePerSec: rate };
    }
    if (saturationSec > 0) {
      for (const s of scenarios) {
        process.stdout.write(
          `[${s.report.name}] saturation: ${concurrency} connections, ${saturationSec}s\n`,
        );
        const { result, cpu } = await measured(procs, s.gateway, () =>
          closedLoop(s.client, concurrency, saturationSec),
        );
        s.report.saturation = { ...phaseReport(result, cpu), concurrency };
      }
    }
    const direct = scenarios[0]?.report.fixed;
    for (const s of scenarios) {
      if (s.gateway !== undefined) {
        s.report.peakRssBytes = memory(s.gateway.proc.pid).peakRssBytes;
        const heap = await scrapeGauge(s.gateway.metricsUrl, "nodejs_heap_size_used_bytes");
        if (heap !== undefined) s.report.heapUsedBytes = heap;
      } else {
        s.report.peakRssBytes = memory(simulator.proc.pid).peakRssBytes;
      }
      if (s.logFile !== undefined) s.report.auditLogBytes = statSync(s.logFile).size;
      if (s.report.tracing) s.report.traceExport = { ...sink.stats };
      if (direct !== undefined && s.report.fixed !== undefined && s.gateway !== undefined) {
        s.report.added = {
          latency: delta(direct.latency, s.report.fixed.latency),
          service: delta(direct.service, s.report.fixed.service),
        };
      }
    }
    const reports = scenarios.map((s) => s.report);
    const errors = reports.reduce((n, r) => n + (r.fixed?.errors ?? 0) + (r.saturation?.errors ?? 0), 0);
    const file = resolve(RESULTS_DIR, `${stamp}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        { machine: machine(loadBefore), loadAfter: loadAverage(), options: opts, scenarios: reports },
        null,
        2,
      ),
    );
    process.stdout.write(`\n${formatScenarios(reports)}\n\n`);
    for (const r of reports) {
      if (r.traceExport !== undefined)
        process.stdout.write(`trace sink: ${r.traceExport.exports} exports, ${r.traceExport.bytes} bytes\n`);
      for (const sample of [...(r.fixed?.errorSamples ?? []), ...(r.saturation?.errorSamples ?? [])]) {
        process.stdout.write(`error [${r.name}]: ${sample}\n`);
      }
    }
    process.stdout.write(`load average before ${loadBefore}, after ${loadAverage()}\nJSON: ${file}\n`);
    if (errors > 0) {
      process.stdout.write(`FAILED: ${errors} request(s) did not get a 200\n`);
      process.exitCode = 1;
    }
  } finally {
    for (const s of scenarios) s.client.close();
    for (const s of scenarios) await s.gateway?.proc.stop();
    for (const p of owned.reverse()) await p.stop();
    await sink.close();
    if (!opts["keep-logs"])
      for (const s of scenarios) if (s.logFile !== undefined) rmSync(s.logFile, { force: true });
  }
}

function machine(loadBefore: number): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    loadAverageBefore: loadBefore,
  };
}

await main();
