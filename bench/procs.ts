import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { resolve } from "node:path";
import { freePort } from "../test/helpers/ports.js";

export { freePort };

/** Child processes the bench owns: each is stopped by its own pid, never by name. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export const ROOT = resolve(import.meta.dirname, "..");
export const RESULTS_DIR = resolve(ROOT, "bench/results");
/** The gateway is measured as built JS (no tsx in the measured process), compiled into a private directory. */
export const BUILD_DIR = resolve(RESULTS_DIR, "dist");
export const MAIN_JS = resolve(BUILD_DIR, "cli/main.js");

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/**
 * Another commit's gateway, built beside this one (`--compare --baseline <rev>`: before and after in one run).
 * Its sources come from `git archive`; it compiles and runs against this checkout's node_modules, which Node
 * and tsc find by walking up from bench/results. Returns its cli/main.js.
 */
export function buildBaseline(rev: string): string {
  const sha = spawnSync("git", ["rev-parse", "--short", rev], { cwd: ROOT, encoding: "utf8" });
  if (sha.status !== 0) throw new Error(`--baseline: not a revision: ${rev}`);
  const root = resolve(RESULTS_DIR, "baseline", sha.stdout.trim());
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const files = ["src", "package.json", "tsconfig.json", "tsconfig.build.json"];
  const archive = spawnSync("git", ["archive", "--format=tar", rev, ...files], {
    cwd: ROOT,
    maxBuffer: 1 << 28,
  });
  if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr.toString()}`);
  const untar = spawnSync("tar", ["-x", "-C", root], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr.toString()}`);
  buildGateway(root, resolve(root, "dist"));
  return resolve(root, "dist/cli/main.js");
}

/** Compiles src/ with tsconfig.build.json into bench/results/dist (not dist/, which others may be using). */
export function buildGateway(root = ROOT, buildDir = BUILD_DIR): void {
  const tsc = resolve(ROOT, "node_modules/typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", buildDir], {
    cwd: root,
    encoding: "utf8",
  });
  if (!existsSync(resolve(buildDir, "cli/main.js")))
    throw new Error(`build failed:\n${result.stdout}${result.stderr}`);
  // The build reads its version from the package.json beside it (src/version.ts), as in dist/ and the image.
  const beside = resolve(buildDir, "../package.json");
  if (beside !== resolve(root, "package.json")) copyFileSync(resolve(root, "package.json"), beside);
  if (result.status !== 0) {
    process.stderr.write(
      `warning: tsc reported errors (files emitted anyway):\n${result.stdout.slice(0, 2000)}\n`,
    );
  }
}

async function waitForPort(
  port: number,
  deadlineMs: number,
  name: string,
  child: ChildProcess,
): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((done) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("error", () => {
        done(false);
      });
      socket.once("connect", () => {
        socket.destroy();
        done(true);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on port ${port} in time`);
}

export interface SpawnSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout goes to this file (the audit log), or /dev/null. */
  readonly stdoutFile?: string;
}

export async function spawnProc(spec: SpawnSpec): Promise<Proc> {
  const out = openSync(spec.stdoutFile ?? "/dev/null", "w");
  const err = openSync(resolve(RESULTS_DIR, `${spec.name}.stderr.log`), "w");
  const child = spawn(spec.command, [...spec.args], {
    cwd: ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ["ignore", out, err],
  });
  closeSync(out);
  closeSync(err);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name}`);
  const pid = child.pid;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  await waitForPort(spec.port, Date.now() + 20_000, spec.name, child);
  return {
    name: spec.name,
    pid,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startRedis(): Promise<{ proc: Proc; url: string; port: number }> {
  const port = await freePort();
  const proc = await spawnProc({
    name: "redis",
    command: "redis-server",
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    port,
  });
  return { proc, url: `redis://127.0.0.1:${port}`, port };
}

/** The simulator answers at once (zero processing time); its tasks stay pending for taskMs. */
export async function startSimulator(
  upstreamKey: string,
  taskMs: number,
): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const proc = await spawnProc({
    name: "simulator",
    command: process.execPath,
    args: [
      MAIN_JS,
      "simulate",
      "--port",
      String(port),
      "--key",
      `${upstreamKey}:100000000`,
      "--pending-ms",
      String(taskMs),
      "--processing-ms",
      "0",
    ],
    port,
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** CPU time (user + system) of a process so far, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const { userUs, systemUs } = cpuSplit(pid);
  return userUs + systemUs;
}

/** A process's CPU time so far (all threads), in user space and in the kernel (syscalls, network stack). */
export function cpuSplit(pid: number): { readonly userUs: number; readonly systemUs: number } {
  return statCpu(`/proc/${pid}/stat`);
}

/**
 * The main thread's CPU time so far (user + kernel): JavaScript and the event loop's syscalls. The rest of a
 * process's CPU is V8's helper threads (parallel and concurrent GC, the optimising compiler) and libuv's pool.
 */
export function mainThreadUs(pid: number): number {
  const { userUs, systemUs } = statCpu(`/proc/${pid}/task/${pid}/stat`);
  return userUs + systemUs;
}

function statCpu(path: string): { readonly userUs: number; readonly systemUs: number } {
  const stat = readFileSync(path, "utf8");
  // Fields after the command name (which may contain spaces) start at index 2 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { userUs: (Number(fields[11]) * 1e6) / CLK_TCK, systemUs: (Number(fields[12]) * 1e6) / CLK_TCK };
}

/** Busy (non-idle) and total jiffies of each CPU so far, from /proc/stat: how loaded each core was. */
export function coreTimes(): readonly { readonly busy: number; readonly total: number }[] {
  const cores: { busy: number; total: number }[] = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    if (!/^cpu\d+ /.test(line)) continue;
    // user nice system idle iowait irq softirq steal ...: idle and iowait are the not-busy ones.
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    cores.push({ busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total });
  }
  return cores;
}

/** Each core's busy share (0-1) between two coreTimes() readings. */
export function coreBusy(
  before: readonly { readonly busy: number; readonly total: number }[],
  after: readonly { readonly busy: number; readonly total: number }[],
): number[] {
  return after.map((a, i) => {
    const b = before[i] ?? { busy: 0, total: 0 };
    return (a.busy - b.busy) / Math.max(1, a.total - b.total);
  });
}

/** Current and peak resident set size in bytes, from /proc/<pid>/status. */
export function memory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  };
  return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/**
 * Script calls Redis has executed so far (EVALSHA + EVAL from INFO commandstats): the store's round trips, as
 * the gateway sends nothing but scripts on the request path (commands run inside a script are not counted).
 */
export async function redisScriptCalls(port: number): Promise<number> {
  const text = await new Promise<string>((done, fail) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let data = "";
    socket.once("error", fail);
    socket.once("connect", () => socket.write("INFO commandstats\r\n"));
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("utf8");
      const header = /^\$(\d+)\r\n/.exec(data);
      if (header?.[1] !== undefined && Buffer.byteLength(data) >= header[0].length + Number(header[1])) {
        socket.destroy();
        done(data);
      }
    });
  });
  let total = 0;
  for (const match of text.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) total += Number(match[2]);
  return total;
}
