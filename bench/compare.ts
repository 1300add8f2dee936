/**
 * The side-by-side run (issue 18): the gateway against the floors in one run, subjects interleaved over
 * rounds (a fresh process each time, the order rotated every round), medians and spread reported.
 *
 *   npm run bench -- --compare [--pin] [--rounds 4] [--rate 500] [--high-rate 1000] [--duration 15]
 *     [--saturation 10] [--mix submit|poll] [--upstream nginx|simulator] [--subjects a,b,...]
 *     [--baseline <rev>] [--profile] [--node-args "<flags>"]
 *
 * With --pin the subject runs alone on CPU 1 (taskset) and everything else (this process, which is the
 * open-loop load generator, the upstream, Redis, the trace sink) on CPU 0, so the subject's CPU per request
 * and its saturation are its own. `--mix submit`: POST generateTask with a 283-byte body, tasks left in flight
 * (the issue's table); `--mix poll`: the submit-and-poll mix with tasks that finish (bench/mix.ts), on the
 * simulator, so status polls and the settle path are measured the same way.
 *
 * `--baseline <rev>` adds "baseline redis" and "baseline memory": that commit's gateway, interleaved with this
 * checkout's in the same rounds, so a change is measured before and after against the same floors. `--profile`
 * runs every Node.js subject (gateways, floors, express+hpm) with --cpu-prof and prints each one's self time by package and function (over its
 * last round's whole life: warm-up, both rates and saturation). `--node-args` adds node flags to this
 * checkout's gateway subjects only, so with `--baseline HEAD` it measures a flag against its absence.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startGatewayProcess, UPSTREAM_KEY } from "./gateway.js";
import { Client, closedLoop, openLoop, type LoadResult } from "./load.js";
import { Mix, SubmitOnly, TASK_MS, type RequestSource } from "./mix.js";
import { nginxInstalled, startFixedUpstream, startNginxProxy } from "./nginx.js";
import { formatProfile, newestProfile, summariseProfile } from "./profile.js";
import {
  buildBaseline,
  buildGateway,
  cpuMicros,
  coreBusy,
  coreTimes,
  cpuSplit,
  mainThreadUs,
  redisScriptCalls,
  freePort,
  loadAverage,
  RESULTS_DIR,
  ROOT,
  spawnProc,
  startRedis,
  startSimulator,
  type Proc,
} from "./procs.js";
import { startTraceSink } from "./sink.js";

const { values: opts } = parseArgs({
  options: {
    compare: { type: "boolean", default: true },
    pin: { type: "boolean", default: false },
    rounds: { type: "string", default: "4" },
    rate: { type: "string", default: "500" },
    "high-rate": { type: "string", default: "1000" },
    duration: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    saturation: { type: "string", default: "10" },
    concurrency: { type: "string", default: "32" },
    mix: { type: "string", default: "submit" },
    upstream: { type: "string" },
    subjects: { type: "string" },
    baseline: { type: "string" },
    profile: { type: "boolean", default: false },
    syscalls: { type: "boolean", default: false },
    "node-args": { type: "string" },
  },
});

/** Where `--profile` has each Node.js subject (the gateways, the floors, express+hpm) write its .cpuprofile (one directory per subject). */
const PROF_DIR = resolve(RESULTS_DIR, "prof");

const rate = Number(opts.rate);
const highRate = Number(opts["high-rate"]);
const duration = Number(opts.duration);
const SUBJECT_CPU = 1;
const OTHERS_CPU = 0;

/** Pins a running process and all its threads (taskset -a); threads made later inherit it. */
function pin(pid: number, cpu: number): void {
  if (!opts.pin) return;
  const result = spawnSync("taskset", ["-a", "-pc", String(cpu), String(pid)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`taskset failed: ${result.stderr}`);
}

interface Running {
  readonly proc: Proc;
  readonly url: string;
  readonly authorization: string;
}

interface Subject {
  readonly name: string;
  start(upstreamUrl: string): Promise<Running>;
}

/** A bench script (floor proxy, express proxy) under tsx, whose loader acts only at start-up. */
async function script(
  name: string,
  file: string,
  upstreamUrl: string,
  extra: string[] = [],
): Promise<Running> {
  const port = await freePort();
  const proc = await spawnProc({
    name,
    command: process.execPath,
    args: [
      ...(opts.profile ? ["--cpu-prof", "--cpu-prof-dir", resolve(PROF_DIR, name)] : []),
      "--import",
      "tsx",
      resolve(ROOT, file),
      "--port",
      String(port),
      "--upstream",
      upstreamUrl,
      "--key",
      UPSTREAM_KEY,
      ...extra,
    ],
    port,
  });
  return { proc, url: `http://127.0.0.1:${port}`, authorization: "Bearer floor" };
}

function subjects(redisUrl: string, otlpEndpoint: string, baselineJs: string | undefined): Subject[] {
  const gateway =
    (name: string, store: "redis" | "memory", tracing: boolean, mainJs?: string) =>
    async (upstreamUrl: string): Promise<Running> => {
      const nodeArgs = [
        ...(opts.profile ? ["--cpu-prof", "--cpu-prof-dir", resolve(PROF_DIR, name)] : []),
        ...(mainJs === undefined ? (opts["node-args"]?.split(" ").filter((a) => a !== "") ?? []) : []),
      ];
      const g = await startGatewayProcess({
        name,
        simulatorUrl: upstreamUrl,
        redisUrl,
        store,
        tenants: 1,
        logFile: resolve(RESULTS_DIR, `${name}.audit.log`),
        ...(tracing ? { otlpEndpoint } : {}),
        ...(mainJs === undefined ? {} : { mainJs }),
        nodeArgs,
      });
      return { proc: g.proc, url: g.url, authorization: `Bearer ${g.key}` };
    };
  const all: Subject[] = [
    {
      name: "nginx proxy",
      start: async (up) => ({ ...(await startNginxProxy(up, UPSTREAM_KEY)), authorization: "Bearer floor" }),
    },
    { name: "node floor", start: (up) => script("node-floor", "bench/floorProxy.ts", up) },
    {
      name: "node floor+store",
      start: (up) =>
        script("node-floor-store", "bench/floorProxy.ts", up, ["--redis", redisUrl, "--record", "--log"]),
    },
    { name: "express+hpm", start: (up) => script("express-hpm", "bench/expressProxy.ts", up) },
    { name: "gateway redis", start: gateway("gw-redis", "redis", false) },
    { name: "gateway redis+tracing", start: gateway("gw-redis-tracing", "redis", true) },
    { name: "gateway memory", start: gateway("gw-memory", "memory", false) },
    ...(baselineJs === undefined
      ? []
      : [
          { name: "baseline redis", start: gateway("base-redis", "redis", false, baselineJs) },
          { name: "baseline memory", start: gateway("base-memory", "memory", false, baselineJs) },
        ]),
  ];
  const wanted = opts.subjects?.split(",").map((s) => s.trim());
  return all.filter(
    (s) =>
      (wanted === undefined || wanted.includes(s.name)) && (s.name !== "nginx proxy" || nginxInstalled()),
  );
}

interface Sample {
  readonly cpuUsPerReq: number;
  /** The part of it spent in the kernel (syscalls: sockets, the log's writes). */
  readonly systemUsPerReq: number;
  /** The part of it on the main thread (JavaScript, the event loop's syscalls); the rest is V8's helpers. */
  readonly mainUsPerReq: number;
  /** Store scripts Redis ran per request, at `rate` and at saturation (0 for subjects without Redis). */
  readonly scriptsPerReq: number;
  readonly scriptsPerReqSaturated: number;
  /** Redis's own CPU per request at `rate` (the shared resource replicas scale on). */
  readonly redisUsPerReq: number;
  readonly p99AtRateMs: number;
  readonly keepsUp: boolean;
  readonly p99AtHighMs: number | undefined;
  readonly saturationRps: number;
  /** How busy the subject's core and the other one (load generator, upstream, Redis) were at saturation. */
  readonly subjectCoreBusy: number;
  readonly otherCoreBusy: number;
  /** With --syscalls: system calls per request at `rate` (strace -c), the most frequent first. */
  readonly syscalls?: Readonly<Record<string, number>>;
  readonly errors: number;
  /** A few of them ("status 503 on submit: ..."), to say what went wrong. */
  readonly errorSamples: readonly string[];
}

/** Every request answered 200, and the backlog drained within a second of the last due time. */
function keptUp(result: LoadResult, seconds: number): boolean {
  return result.errors === 0 && result.elapsedMs <= (seconds + 1) * 1000;
}

const ms = (us: number): number => Math.round(us / 10) / 100;

async function measureOnce(
  subject: Subject,
  upstreamUrl: string,
  redis: { readonly port: number; readonly pid: number },
  mix: () => RequestSource,
): Promise<Sample> {
  const running = await subject.start(upstreamUrl);
  pin(running.proc.pid, SUBJECT_CPU);
  const client = new Client(
    { name: subject.name, url: running.url, authorization: running.authorization },
    mix(),
  );
  try {
    await openLoop(client, rate, Number(opts.warmup));
    const scriptsBefore = await redisScriptCalls(redis.port);
    const redisBefore = cpuMicros(redis.pid);
    const before = cpuSplit(running.proc.pid);
    const mainBefore = mainThreadUs(running.proc.pid);
    const fixed = await openLoop(client, rate, duration);
    const redisUsPerReq = Math.round((cpuMicros(redis.pid) - redisBefore) / Math.max(1, fixed.requests));
    const scriptsPerReq =
      ((await redisScriptCalls(redis.port)) - scriptsBefore) / Math.max(1, fixed.requests);
    const after = cpuSplit(running.proc.pid);
    const mainUsPerReq = Math.round(
      (mainThreadUs(running.proc.pid) - mainBefore) / Math.max(1, fixed.requests),
    );
    const perReq = (us: number): number => Math.round(us / Math.max(1, fixed.requests));
    const systemUsPerReq = perReq(after.systemUs - before.systemUs);
    const cpuUsPerReq = perReq(after.userUs + after.systemUs - before.userUs - before.systemUs);
    const atRate = keptUp(fixed, duration);
    const syscalls = opts.syscalls
      ? await countSyscalls(running.proc.pid, () => openLoop(client, rate, 4))
      : undefined;
    // A subject that cannot keep up with `rate` is not driven at twice it (its backlog would take minutes).
    const high = atRate ? await openLoop(client, highRate, duration) : undefined;
    const scriptsBeforeSaturation = await redisScriptCalls(redis.port);
    const coresBefore = coreTimes();
    const saturation = await closedLoop(client, Number(opts.concurrency), Number(opts.saturation));
    const busy = coreBusy(coresBefore, coreTimes());
    const scriptsPerReqSaturated =
      ((await redisScriptCalls(redis.port)) - scriptsBeforeSaturation) / Math.max(1, saturation.requests);
    return {
      cpuUsPerReq,
      systemUsPerReq,
      mainUsPerReq,
      scriptsPerReq: Math.round(scriptsPerReq * 100) / 100,
      scriptsPerReqSaturated: Math.round(scriptsPerReqSaturated * 100) / 100,
      redisUsPerReq,
      p99AtRateMs: ms(fixed.latency.getValueAtPercentile(99)),
      keepsUp: high !== undefined && keptUp(high, duration),
      p99AtHighMs: high === undefined ? undefined : ms(high.latency.getValueAtPercentile(99)),
      saturationRps: Math.round(saturation.requests / (saturation.elapsedMs / 1000)),
      ...(syscalls === undefined ? {} : { syscalls }),
      subjectCoreBusy: Math.round((busy[SUBJECT_CPU] ?? 0) * 100),
      otherCoreBusy: Math.round((busy[1 - SUBJECT_CPU] ?? 0) * 100),
      errors: fixed.errors + (high?.errors ?? 0) + saturation.errors,
      errorSamples: [...fixed.errorSamples, ...(high?.errorSamples ?? []), ...saturation.errorSamples].slice(
        0,
        3,
      ),
    };
  } finally {
    client.close();
    await running.proc.stop();
  }
}

/**
 * System calls per request of a subject (all its threads) while `load` runs, counted by `strace -c -f`. Its
 * own phase after the measured ones: tracing with ptrace slows the subject down, so no other figure is taken
 * under it.
 */
async function countSyscalls(pid: number, load: () => Promise<LoadResult>): Promise<Record<string, number>> {
  const out = resolve(RESULTS_DIR, `strace-${pid}.txt`);
  const strace = spawn("strace", ["-c", "-f", "-p", String(pid), "-o", out], { stdio: "ignore" });
  await new Promise((done) => setTimeout(done, 500));
  const result = await load();
  const exited = new Promise((done) => strace.once("exit", done));
  strace.kill("SIGINT");
  await exited;
  const counts: Record<string, number> = {};
  let total = 0;
  // strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall.
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const cols = line.trim().split(/\s+/);
    const name = cols[cols.length - 1];
    const calls = Number(cols[3]);
    if (name === undefined || !/^[a-z_0-9]+$/.test(name) || name === "total" || !Number.isFinite(calls))
      continue;
    counts[name] = Math.round((calls / Math.max(1, result.requests)) * 100) / 100;
    total += calls;
  }
  rmSync(out, { force: true });
  const top = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return {
    total: Math.round((total / Math.max(1, result.requests)) * 100) / 100,
    ...Object.fromEntries(top),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Math.round(value * 100) / 100;
}

const spread = (values: readonly number[]): string => `${Math.min(...values)}-${Math.max(...values)}`;

function table(results: Map<string, Sample[]>): string {
  const floor = median((results.get("node floor") ?? []).map((s) => s.cpuUsPerReq));
  const lines = [
    `| subject | CPU us/req at ${rate}/s (median, spread) | of it in the kernel | of it on the main thread | / node floor | keeps up at ${highRate}/s | p99 at ${highRate}/s ms (median) | p99 at ${rate}/s ms | saturation req/s (median, spread) | cores busy at saturation: subject / other | store scripts per request at ${rate}/s / saturated | Redis CPU us/req at ${rate}/s | errors |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [name, samples] of results) {
    const cpu = samples.map((s) => s.cpuUsPerReq);
    const sat = samples.map((s) => s.saturationRps);
    const high = samples.flatMap((s) => (s.p99AtHighMs === undefined ? [] : [s.p99AtHighMs]));
    const ratio = floor > 0 ? `${(median(cpu) / floor).toFixed(2)}x` : "-";
    lines.push(
      `| ${name} | ${median(cpu)} (${spread(cpu)}) | ${median(samples.map((s) => s.systemUsPerReq))} | ${median(samples.map((s) => s.mainUsPerReq))} | ${ratio} | ${samples.filter((s) => s.keepsUp).length} of ${samples.length} | ${high.length === 0 ? "-" : median(high)} | ${median(samples.map((s) => s.p99AtRateMs))} | ${median(sat)} (${spread(sat)}) | ${median(samples.map((s) => s.subjectCoreBusy))}% / ${median(samples.map((s) => s.otherCoreBusy))}% | ${median(samples.map((s) => s.scriptsPerReq))} / ${median(samples.map((s) => s.scriptsPerReqSaturated))} | ${median(samples.map((s) => s.redisUsPerReq))} | ${samples.reduce((n, s) => n + s.errors, 0)} |`,
    );
  }
  return lines.join("\n");
}

/** Each profiled subject's last round, summarised (and kept as JSON beside the run's). */
function printProfiles(stamp: string): void {
  if (!existsSync(PROF_DIR)) return;
  for (const name of readdirSync(PROF_DIR).sort()) {
    const file = newestProfile(resolve(PROF_DIR, name));
    if (file === undefined) continue;
    const summary = summariseProfile(file);
    writeFileSync(resolve(RESULTS_DIR, `${stamp}-${name}-profile.json`), JSON.stringify(summary, null, 2));
    process.stdout.write(`\n## ${name}\n${formatProfile(summary)}\n`);
  }
}

async function main(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  pin(process.pid, OTHERS_CPU);
  const loadBefore = loadAverage();
  process.stdout.write("building the gateway (bench/results/dist)...\n");
  buildGateway();
  const baselineJs = opts.baseline === undefined ? undefined : buildBaseline(opts.baseline);
  if (opts.profile) rmSync(PROF_DIR, { recursive: true, force: true });
  const owned: Proc[] = [];
  const sink = await startTraceSink();
  try {
    const redis = await startRedis();
    owned.push(redis.proc);
    pin(redis.proc.pid, OTHERS_CPU);
    const useNginx = opts.mix !== "poll" && (opts.upstream ?? "nginx") === "nginx" && nginxInstalled();
    const upstream = useNginx ? await startFixedUpstream() : await startSimulator(UPSTREAM_KEY, TASK_MS);
    owned.push(upstream.proc);
    pin(upstream.proc.pid, OTHERS_CPU);
    const mix = opts.mix === "poll" ? () => new Mix() : () => new SubmitOnly();
    const list = subjects(redis.url, sink.url, baselineJs);
    const results = new Map<string, Sample[]>(list.map((s) => [s.name, []]));
    const rounds = Number(opts.rounds);
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so no subject always runs first (or just after a heavy one).
      const order = list.map((_, i) => list[(i + round) % list.length]!);
      for (const subject of order) {
        process.stdout.write(`round ${round + 1}/${rounds}: ${subject.name}... `);
        const sample = await measureOnce(
          subject,
          upstream.url,
          { port: redis.port, pid: redis.proc.pid },
          mix,
        );
        results.get(subject.name)?.push(sample);
        process.stdout.write(`${JSON.stringify(sample)}\n`);
      }
    }
    const stamp = new Date().toISOString().replaceAll(":", "-").replace(/\..*/, "");
    const file = resolve(RESULTS_DIR, `${stamp}-compare.json`);
    const upstreamName = useNginx ? "nginx fixed answer" : "simulator";
    writeFileSync(
      file,
      JSON.stringify(
        {
          options: opts,
          upstream: upstreamName,
          loadBefore,
          loadAfter: loadAverage(),
          results: [...results],
        },
        null,
        2,
      ),
    );
    process.stdout.write(
      `\nupstream: ${upstreamName}; mix: ${opts.mix}; pinned: ${opts.pin}; load average before ${loadBefore}, after ${loadAverage()}${opts.baseline === undefined ? "" : `; baseline: ${opts.baseline}`}\n\n${table(results)}\n\nJSON: ${file}\n`,
    );
    if (opts.profile) printProfiles(stamp);
  } finally {
    for (const p of owned.reverse()) await p.stop();
    await sink.close();
  }
}

await main();
