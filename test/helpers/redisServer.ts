import { spawn, type ChildProcess } from "node:child_process";
import { createConnection } from "node:net";
import { freePort } from "./ports.js";

/** A real redis-server on a free loopback port, owned by the test that started it. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Start again on the same port (for "Redis comes back" tests). */
  restart(): Promise<void>;
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

function launch(port: number): ChildProcess {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes",
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

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child = launch(port);
  await waitForPing(port, Date.now() + 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart() {
      child.kill("SIGKILL");
      await exited(child);
      child = launch(port);
      await waitForPing(port, Date.now() + 10_000);
    },
  };
}
