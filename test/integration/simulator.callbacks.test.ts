import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createSimulator } from "../../src/simulator/index.js";
import type { Simulator, SimulatorOptions } from "../../src/simulator/index.js";
import { freePort } from "../helpers/ports.js";

const KEY = "sk-sim-test";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A callback receiver that answers with the next status in `statuses` (the last one repeats). */
interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

let sim: Simulator | undefined;
let receiver: Receiver | undefined;

async function startReceiver(statuses: number[] = [200]): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(statuses[Math.min(received.length, statuses.length) - 1] ?? 200).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  receiver = {
    url: `http://127.0.0.1:${port}/hooks/apixo`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
  return receiver;
}

async function start(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  sim = createSimulator({
    keys: { [KEY]: 1 },
    pendingMs: 0,
    processingMs: 0,
    clock: new ManualClock(),
    callbackRetryDelaysMs: [10, 10, 10],
    ...options,
  });
  await sim.listen(0);
  return sim;
}

afterEach(async () => {
  await sim?.close();
  await receiver?.close();
  sim = undefined;
  receiver = undefined;
});

async function submitCallback(url: string, prompt = "a cat"): Promise<string> {
  const res = await fetch(`${sim!.url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ request_type: "callback", callback_url: url, input: { prompt } }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { taskId: string } }).data.taskId;
}

async function statusText(taskId: string): Promise<string> {
  const res = await fetch(`${sim!.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  return res.text();
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("simulator callbacks", () => {
  it("POSTs the exact statusTask envelope as JSON to callback_url when the task ends", async () => {
    const { url, received } = await startReceiver();
    await start();
    const taskId = await submitCallback(url);
    await waitFor(() => received.length === 1);
    expect(received[0]!.headers["content-type"]).toBe("application/json");
    expect(received[0]!.body).toBe(await statusText(taskId));
    expect(JSON.parse(received[0]!.body)).toMatchObject({ code: 200, data: { taskId, state: "success" } });
    expect(sim!.stats.callbacks).toEqual([{ url, taskId, attempt: 1, status: 200, body: received[0]!.body }]);
  });

  it("reports failed tasks with code 200 and the failCode", async () => {
    const { url, received } = await startReceiver();
    await start();
    await submitCallback(url, "sim:violation");
    await waitFor(() => received.length === 1);
    expect(JSON.parse(received[0]!.body)).toMatchObject({
      code: 200,
      data: { state: "failed", failCode: "CONTENT_VIOLATION" },
    });
  });

  it("retries after the receiver answers 500 once, then stops", async () => {
    const { url, received } = await startReceiver([500, 200]);
    await start();
    await submitCallback(url);
    await waitFor(() => received.length === 2);
    await sleep(40);
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(sim!.stats.callbacks.map((c) => [c.attempt, c.status])).toEqual([
      [1, 500],
      [2, 200],
    ]);
  });

  it("gives up after the last retry delay", async () => {
    const { url, received } = await startReceiver([503]);
    await start({ callbackRetryDelaysMs: [5, 5] });
    await submitCallback(url);
    await waitFor(() => received.length === 3);
    await sleep(40);
    expect(received).toHaveLength(3);
  });

  it("retries a network error and records it as 'error'", async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}/nobody-home`;
    await start({ callbackRetryDelaysMs: [5] });
    await submitCallback(deadUrl);
    await waitFor(() => sim!.stats.callbacks.length === 2);
    expect(sim!.stats.callbacks.map((c) => c.status)).toEqual(["error", "error"]);
  });

  it("sends callbackDuplicates extra identical deliveries", async () => {
    const { url, received } = await startReceiver();
    await start({ callbackDuplicates: 2 });
    await submitCallback(url);
    await waitFor(() => received.length === 3);
    await sleep(30);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(sim!.stats.callbacks.map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it("waits callbackDelayMs before the first delivery", async () => {
    const { url, received } = await startReceiver();
    await start({ callbackDelayMs: 150 });
    const startedMs = performance.now();
    await submitCallback(url);
    await waitFor(() => received.length === 1);
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(140);
  });

  it("cancels pending deliveries on close()", async () => {
    const { url, received } = await startReceiver();
    await start({ callbackDelayMs: 30 });
    await submitCallback(url);
    await sim!.close();
    await sleep(60);
    expect(received).toHaveLength(0);
  });

  it("sends nothing for async tasks", async () => {
    const { received } = await startReceiver();
    await start();
    await fetch(`${sim!.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ input: { prompt: "a cat" } }),
    });
    await sleep(30);
    expect(received).toHaveLength(0);
    expect(sim!.stats.callbacks).toHaveLength(0);
  });
});
