import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import { freePort } from "../helpers/ports.js";
import { startSim, startTestGateway, tenantKeys } from "../helpers/telemetry.js";

const keys = tenantKeys();
let sim: Simulator;
const started: RunningGateway[] = [];

async function gateway(store: Record<string, unknown> = {}): Promise<RunningGateway> {
  const { gateway: gw } = await startTestGateway(sim, keys, { store });
  started.push(gw);
  return gw;
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A Redis URL nobody listens on: the store is unreachable from the start. */
async function deadRedis(): Promise<Record<string, unknown>> {
  return { kind: "redis", redisUrl: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: 100 };
}

beforeAll(async () => {
  sim = await startSim();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((gw) => gw.close()));
});
afterAll(async () => {
  await sim.close();
});

describe("health probes on the gateway port", () => {
  it("/healthz answers 200 while the process runs (liveness)", async () => {
    const gw = await gateway();
    expect(await get(`${gw.url}/healthz`)).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("/readyz answers 200 with the config loaded and the store reachable", async () => {
    const gw = await gateway();
    const ready = await get(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ready");
  });

  it("/readyz answers 503 when the store is unreachable and the policy is fail-closed", async () => {
    const gw = await gateway({ ...(await deadRedis()), failurePolicy: "fail-closed" });
    const ready = await get(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "not_ready", reason: "limit store unreachable" });
    // Liveness is independent of the store: a restart would not bring Redis back.
    expect((await get(`${gw.url}/healthz`)).status).toBe(200);
  });

  it("/readyz stays 200 when the store is unreachable but the policy is fail-open, and says so", async () => {
    const gw = await gateway({ ...(await deadRedis()), failurePolicy: "fail-open" });
    const ready = await get(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.reason).toContain("fail-open");
  });

  it("the probes are not on the metrics port, and the metrics are not on the gateway port", async () => {
    const gw = await gateway();
    const onOps = await fetch(`${new URL(gw.metricsUrl).origin}/healthz`);
    expect(onOps.status).toBe(404);
    await onOps.body?.cancel();
    const metricsOnPublic = await fetch(`${gw.url}/metrics`);
    expect(metricsOnPublic.status).toBe(404);
    await metricsOnPublic.body?.cancel();
  });
});
