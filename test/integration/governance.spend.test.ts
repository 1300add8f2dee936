import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";
import { startServeProcesses, type CliProcess } from "../helpers/cli.js";
import { GENEROUS_LIMITS, startHarness, type Harness } from "../helpers/gatewayHarness.js";

const PRICE_MICROS = 30_000; // nano-banana's default price
const N = 7;
const CAP_USD = (N * PRICE_MICROS) / 1e6;
const BODY = '{"input":{"mode":"text-to-image","prompt":"a cat"}}';

let harness: Harness | undefined;
const processes: CliProcess[] = [];
let simulator: Simulator | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const p of processes.splice(0)) await p.stop();
  await simulator?.close();
  simulator = undefined;
});

async function submitMany(urls: readonly string[], key: string, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      fetch(`${urls[i % urls.length]!}/api/v1/generateTask/nano-banana`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: BODY,
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    ),
  );
}

function spentMicros(h: Harness, tenantId: string): Promise<number> {
  return h.gateway.store
    .spendOfDays(tenantId, [new Date().toISOString().slice(0, 10)])
    .then((d) => d[0]!.spentMicros);
}

describe("the daily spend cap holds exactly under concurrency", () => {
  it("lets exactly N of 500 concurrent submits through when the cap fits N (one gateway, Redis)", async () => {
    harness = await startHarness({
      redisUrl: inject("redisUrl"),
      // The shipped store settings: a burst of 500 must not look like a dead Redis (limits/silence.ts).
      tenants: [{ id: "acme", dailyCapUsd: CAP_USD }],
    });
    const statuses = await submitMany([harness.url], harness.keys.acme!, 500);
    expect(statuses.filter((s) => s === 200)).toHaveLength(N);
    expect(statuses.filter((s) => s === 402)).toHaveLength(500 - N);
    expect(harness.simulator.stats.count("generateTask")).toBe(N);
    expect(harness.simulator.stats.tasks).toBe(N);
    expect(await spentMicros(harness, "acme")).toBe(N * PRICE_MICROS);
  });

  it("holds the same with the embedded memory store", async () => {
    harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: CAP_USD }] });
    const statuses = await submitMany([harness.url], harness.keys.acme!, 500);
    expect(statuses.filter((s) => s === 200)).toHaveLength(N);
    expect(harness.simulator.stats.tasks).toBe(N);
    expect(await spentMicros(harness, "acme")).toBe(N * PRICE_MICROS);
  });

  it("holds across two gateway processes sharing one Redis", async () => {
    simulator = createSimulator({ keys: { "sk-sim-two": 1000 }, pendingMs: 0, processingMs: 0 });
    const upstreamUrl = await simulator.listen(0);
    const key = generateGatewayKey();
    const started = await startServeProcesses(
      {
        server: { port: 0, metricsPort: 0 },
        upstream: { baseUrl: upstreamUrl, keys: [{ alias: "main", key: "sk-sim-two" }] },
        store: {
          kind: "redis",
          redisUrl: inject("redisUrl"),
          keyPrefix: `two${randomUUID().slice(0, 8)}`,
        },
        tenants: [
          {
            id: "acme",
            keys: [{ hash: hashGatewayKey(key) }],
            upstreamKey: "main",
            dailyCapUsd: CAP_USD,
            limits: GENEROUS_LIMITS,
          },
        ],
      },
      2,
    );
    processes.push(...started.processes);
    const urls = started.urls;
    const statuses = await submitMany(urls, key, 500);
    expect(statuses.filter((s) => s === 200)).toHaveLength(N);
    expect(statuses.filter((s) => s === 402)).toHaveLength(500 - N);
    expect(simulator.stats.tasks).toBe(N);
    const balance = (await (
      await fetch(`${urls[1]!}/api/v1/apikeys/current-balance`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json()) as { data: number };
    expect(balance.data).toBe(0);
  }, 60_000);

  it("says in the 402 what the cap, the day's spend and the request cost are", async () => {
    harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: 0.05 }] });
    await submitMany([harness.url], harness.keys.acme!, 1);
    const response = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: BODY,
    });
    const envelope = (await response.json()) as { code: number; message: string; error: { type: string } };
    expect(response.status).toBe(402);
    expect(envelope.error.type).toBe("SPEND_CAP_EXCEEDED");
    expect(envelope.message).toContain("cap $0.05");
    expect(envelope.message).toContain("spent $0.03");
    expect(envelope.message).toContain("this request $0.03");
  });

  it("reports the budget left after each submit in X-Budget-Remaining-Usd", async () => {
    harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: 1 }] });
    const response = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: BODY,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-budget-remaining-usd")).toBe("0.97");
  });
});
