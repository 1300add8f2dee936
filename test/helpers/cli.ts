import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REPO = join(import.meta.dirname, "../..");
const MAIN = join(REPO, "src/cli/main.ts");

export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first stdout line matching `pattern` (or rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Runs `apixo-gateway <args>` from source (tsx), as a user would, with its own stdout and stderr. */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      stdout.push(line);
      for (const waiter of [...waiters]) {
        const match = line.match(waiter.pattern);
        if (match !== null) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    }
  });
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    stdout,
    stderr,
    waitFor(pattern, timeoutMs = 15_000) {
      const already = stdout.map((line) => line.match(pattern)).find((m) => m !== null);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.join("")}`));
        }, timeoutMs);
        waiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    exited: () => exit,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exit;
    },
  };
}

/**
 * `count` real `apixo-gateway serve` processes sharing one config (written as JSON, which is YAML too), each on
 * its own free port; resolves once all are listening. The caller stops the returned processes.
 */
export async function startServeProcesses(
  config: unknown,
  count: number,
  env: Record<string, string> = {},
): Promise<{ urls: string[]; metricsUrls: string[]; processes: CliProcess[]; configPath: string }> {
  const configPath = join(mkdtempSync(join(tmpdir(), "agw-")), "gateway.yaml");
  writeFileSync(configPath, JSON.stringify(config));
  const processes = Array.from({ length: count }, () =>
    spawnCli(["serve", "--config", configPath], { LOG_LEVEL: "info", ...env }),
  );
  const urls: string[] = [];
  const metricsUrls: string[] = [];
  for (const p of processes) {
    const match = await p.waitFor(
      /"event":"listening".*"url":"(http:\/\/[^"]+)".*"metricsUrl":"(http:\/\/[^"]+)"/,
    );
    urls.push(match[1] ?? "");
    metricsUrls.push(match[2] ?? "");
  }
  return { urls, metricsUrls, processes, configPath };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `apixo-gateway <args>` from source to its end; resolves once its output streams have closed. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  return { code, stdout, stderr };
}
