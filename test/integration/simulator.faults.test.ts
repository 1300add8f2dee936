import { Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createSimulator } from "../../src/simulator/index.js";
import type { Simulator } from "../../src/simulator/index.js";
import { sendRaw } from "../helpers/rawHttp.js";

const KEY = "sk-sim-test";
const AUTH = { authorization: `Bearer ${KEY}` };
const SUBMIT_BODY = JSON.stringify({ input: { prompt: "a cat" } });

let sim: Simulator | undefined;

async function start(options: { random?: () => number } = {}): Promise<Simulator> {
  sim = createSimulator({
    keys: { [KEY]: 1 },
    pendingMs: 0,
    processingMs: 0,
    clock: new ManualClock(),
    ...options,
  });
  await sim.listen(0);
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function submit(model = "nano-banana"): Promise<Response> {
  return fetch(`${sim!.url}/api/v1/generateTask/${model}`, {
    method: "POST",
    headers: AUTH,
    body: SUBMIT_BODY,
  });
}

function balance(): Promise<Response> {
  return fetch(`${sim!.url}/api/v1/apikeys/current-balance`, { headers: AUTH });
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("simulator faults (programmatic)", () => {
  it("answers a status fault with its status, body and headers, only `times` times", async () => {
    await start();
    sim!.faults.add({
      endpoint: "balance",
      times: 1,
      action: { kind: "status", status: 429, body: '{"code":429}', headers: { "retry-after": "3" } },
    });
    const faulted = await balance();
    expect([faulted.status, faulted.headers.get("retry-after"), await faulted.text()]).toEqual([
      429,
      "3",
      '{"code":429}',
    ]);
    expect((await balance()).status).toBe(200);
  });

  it("hits a matching request with a rule's probability, drawn from the injected random source", async () => {
    // The source alternates 0.1, 0.9: a 0.5 rule hits every other request and spares the rest.
    let draw = 0;
    await start({ random: () => (draw++ % 2 === 0 ? 0.1 : 0.9) });
    sim!.faults.add({ endpoint: "balance", probability: 0.5, action: { kind: "status", status: 400 } });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await balance()).status);
    expect(statuses).toEqual([400, 200, 400, 200, 400, 200]);
    expect(() => sim!.faults.add({ probability: 1.5, action: { kind: "reset" } })).toThrow(/probability/);
  });

  it("gives a status fault without a body APIXO's envelope, and creates no task nor charge on submit", async () => {
    await start();
    sim!.faults.add({ endpoint: "generateTask", action: { kind: "status", status: 503 } });
    const faulted = await submit();
    expect(faulted.status).toBe(503);
    expect(await faulted.json()).toEqual({ code: 503, message: "Service Unavailable", data: null });
    expect(sim!.stats.tasks).toBe(0);
    expect(sim!.balanceUsd(KEY)).toBe(1);
  });

  it("answers normally after a delay fault, creating the task", async () => {
    await start();
    sim!.faults.add({ endpoint: "generateTask", action: { kind: "delay", ms: 60 } });
    const startedMs = performance.now();
    const answer = await submit();
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(55);
    expect(answer.status).toBe(200);
    expect(sim!.stats.tasks).toBe(1);
  });

  it("destroys the connection without an answer on a reset fault, creating no task", async () => {
    await start();
    sim!.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    await expect(submit()).rejects.toThrow();
    expect(sim!.stats.tasks).toBe(0);
    expect((await submit()).status).toBe(200);
  });

  it("answers 200 with a body that is not JSON on a garbage fault", async () => {
    await start();
    sim!.faults.add({ action: { kind: "garbage" } });
    const answer = await submit();
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(sim!.stats.tasks).toBe(0);
  });

  it("holds a hang fault's request until close(), which does not wait for it", async () => {
    await start();
    sim!.faults.add({ endpoint: "balance", action: { kind: "hang" } });
    let settled = false;
    const pending = balance().finally(() => {
      settled = true;
    });
    await waitFor(() => sim!.stats.count("balance") === 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(settled).toBe(false);
    await sim!.close();
    await expect(pending).rejects.toThrow();
  });

  it("matches rules by endpoint and by model (id or alias), first matching rule first", async () => {
    await start();
    sim!.faults.add({ endpoint: "statusTask", action: { kind: "status", status: 500 } });
    sim!.faults.add({ model: "flux2", times: 1, action: { kind: "status", status: 502 } });
    sim!.faults.add({ model: "flux-2", times: 1, action: { kind: "status", status: 504 } });
    expect((await submit("nano-banana")).status).toBe(200);
    expect((await submit("flux-2")).status).toBe(502);
    expect((await submit("flux-2")).status).toBe(504);
    expect((await submit("flux2")).status).toBe(200);
    sim!.faults.clear();
    expect((await fetch(`${sim!.url}/api/v1/statusTask/flux2?taskId=x`, { headers: AUTH })).status).toBe(404);
  });
});

describe("simulator faults and stats over HTTP", () => {
  it("adds a fault with POST /__sim/faults without a key, and removes all with {clear:true}", async () => {
    await start();
    const added = await fetch(`${sim!.url}/__sim/faults`, {
      method: "POST",
      body: JSON.stringify({ endpoint: "balance", action: { kind: "status", status: 500 } }),
    });
    expect(added.status).toBe(200);
    expect((await balance()).status).toBe(500);
    const cleared = await fetch(`${sim!.url}/__sim/faults`, { method: "POST", body: '{"clear":true}' });
    expect(cleared.status).toBe(200);
    expect((await balance()).status).toBe(200);
  });

  it("refuses a malformed fault rule with 400 saying what is wrong", async () => {
    await start();
    const answer = await fetch(`${sim!.url}/__sim/faults`, {
      method: "POST",
      body: JSON.stringify({ action: { kind: "explode" } }),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({
      code: 400,
      message: "Invalid request",
      data: { error: "action.kind must be one of: status, delay, reset, garbage, hang" },
    });
    expect((await balance()).status).toBe(200);
  });

  it("reports counters on GET /__sim/stats, leaving control calls out of them", async () => {
    await start();
    await submit();
    await balance();
    const answer = await fetch(`${sim!.url}/__sim/stats`);
    const { data } = (await answer.json()) as { data: Record<string, unknown> };
    expect(data).toMatchObject({ requests: 2, byEndpoint: { generateTask: 1, balance: 1 }, tasks: 1 });
    expect(data.connections).toBeGreaterThanOrEqual(1);
    expect(sim!.stats.count()).toBe(2);
  });
});

describe("simulator connections", () => {
  async function get(agent: Agent): Promise<number> {
    return (await sendRaw(sim!.url, "/api/v1/apikeys/current-balance", { agent, headers: AUTH })).status;
  }

  it("serves sequential keep-alive requests on one TCP connection", async () => {
    await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect([await get(agent), await get(agent)]).toEqual([200, 200]);
      expect(sim!.stats.connections).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("counts each new TCP connection", async () => {
    await start();
    const agent = new Agent({ keepAlive: false });
    await get(agent);
    await get(agent);
    expect(sim!.stats.connections).toBe(2);
  });
});
