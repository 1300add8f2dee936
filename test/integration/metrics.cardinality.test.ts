import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  parseSamples,
  poll,
  scrape,
  startSim,
  startTestGateway,
  submit,
  submitAndFinish,
  tenantKeys,
} from "../helpers/telemetry.js";

const keys = tenantKeys();
let sim: Simulator;
let gw: RunningGateway;

const random = (): string => randomBytes(6).toString("hex");

/** One round of hostile traffic: every value that could become a label is new and random (users, features too). */
async function randomTraffic(markers: string[]): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const model = `model-${random()}`;
    const failCode = `FAIL_${random()}`;
    const taskId = `task-${random()}`;
    const fakeKey = `agw_${random()}`;
    // X-Gateway-User is never a label; an X-Gateway-Feature not in telemetry.featureLabels is `other`.
    const attribution = { "x-gateway-user": `user-${random()}`, "x-gateway-feature": `feature-${random()}` };
    markers.push(model, failCode, taskId, fakeKey, ...Object.values(attribution));
    await submit(gw, keys.acme, model, undefined, attribution);
    await submit(gw, keys.beta, model, undefined, attribution);
    await submit(gw, keys.beta, "nano-banana", undefined, attribution);
    await submit(gw, fakeKey, model, "x", { "x-request-id": `req-${random()}` });
    await poll(gw, keys.acme, model, taskId);
    await poll(gw, keys.beta, "nano-banana", taskId);
    await submitAndFinish(gw, keys.beta, "nano-banana", `sim:fail=${failCode}`);
    const other = await fetch(`${gw.url}/api/v1/${random()}/${random()}`, {
      headers: { authorization: `Bearer ${fakeKey}` },
    });
    await other.body?.cancel();
  }
}

function seriesOf(text: string): Set<string> {
  // Process metrics (heap spaces, GC kinds) are bounded by the runtime, not by traffic; keep to ours.
  return new Set(
    parseSamples(text)
      .filter((s) => s.name.startsWith("apixo_gateway_"))
      .map((s) => `${s.name}${JSON.stringify(s.labels)}`),
  );
}

beforeAll(async () => {
  sim = await startSim();
  const roomy = { ratePerSec: 1000, burst: 1000 };
  const limits = { submit: roomy, status: roomy, balance: roomy, maxInFlight: null };
  ({ gateway: gw } = await startTestGateway(sim, keys, { acmeLimits: limits, betaLimits: limits }));
});
afterAll(async () => {
  await gw.close();
  await sim.close();
});

describe("metric cardinality", () => {
  it("does not grow with random models, tenants, keys, task ids, fail codes, end users and features", async () => {
    const markers: string[] = [];
    await randomTraffic(markers);
    const first = seriesOf(await scrape(gw));
    await randomTraffic(markers);
    await randomTraffic(markers);
    const text = await scrape(gw);
    const after = seriesOf(text);
    expect([...after].filter((s) => !first.has(s))).toEqual([]);
    expect(after.size).toBe(first.size);
    for (const marker of markers) expect(text).not.toContain(marker);
  });
});
