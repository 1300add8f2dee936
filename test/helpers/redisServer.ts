import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

/** A real redis-server on a free loopback port, owned by the test that started it. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** kill -9 and start again on the same port (for "Redis comes back" tests); with AOF the data survives. */
  restart(): Promise<void>;
  /** kill -9 without starting again (restart() brings it back). */
  kill(): Promise<void>;
  /** SIGSTOP: the process stops answering but keeps its connections, as a stalled server does. */
  pause(): void;
  /** SIGCONT: it runs what its clients sent meanwhile. */
  resume(): void;
}

export interface RedisServerOptions {
  /** Keep data across kill -9 and restart: an append-only file, fsynced on every write. */
  readonly appendOnly?: boolean;
  /** More redis-server options (e.g. a TLS port beside the plain one). */
  readonly extraArgs?: readonly string[];
}

async function waitForPing(port: number, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("error", () => {
        resolve(false);
      });
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString().startsWith("+PONG"));
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING in time`);
}

function launch(port: number, dir: string | undefined, extraArgs: readonly string[]): ChildProcess {
  const persistence =
    dir === undefined
      ? ["--appendonly", "no"]
      : ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir];
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      ...persistence,
      "--protected-mode",
      "yes",
      ...extraArgs,
    ],
    { stdio: "ignore" },
  );
  child.on("error", (err) => {
    throw new Error(
      `could not start redis-server (is it installed? apt-get install redis-server): ${err.message}`,
    );
  });
  return child;
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once("exit", () => resolve()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = options.appendOnly === true ? mkdtempSync(join(tmpdir(), "agw-redis-")) : undefined;
  let child = launch(port, dir, options.extraArgs ?? []);
  await waitForPing(port, Date.now() + 10_000);
  const kill = async (): Promise<void> => {
    // A stopped process cannot act on SIGKILL's cleanup until it runs again.
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited(child);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await kill();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
    kill,
    async restart() {
      await kill();
      child = launch(port, dir, options.extraArgs ?? []);
      await waitForPing(port, Date.now() + 10_000);
    },
    pause() {
      child.kill("SIGSTOP");
    },
    resume() {
      child.kill("SIGCONT");
    },
  };
}
