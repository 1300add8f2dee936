import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { metricValue, newTask, pollTask } from "../helpers/upstreamClient.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const BREAKER = { windowSize: 10, minRequests: 4, failureRatio: 0.5, coolDownMs: 10_000, probes: 2 };

/** The gateway runs on a manual clock: the cool-down passes when the test says so, never by sleeping. */
async function start(): Promise<{ h: Harness; clock: ManualClock }> {
  const clock = new ManualClock();
  const h = await startHarness({
    simulator: { pendingMs: 600_000 },
    config: { upstream: { protection: { breaker: BREAKER, retries: { attempts: 1 } } } },
    gateway: { clock },
  });
  return { h, clock };
}

const circuit = (h: Harness) => metricValue(h, "upstream_circuit_state", { upstream: "main" });

describe("circuit breaker per upstream key", () => {
  it("opens after the failure threshold, fails fast, half-opens after the cool-down and closes again", async () => {
    const { h, clock } = await start();
    harness = h;
    const taskId = await newTask(h, "acme");
    expect(await circuit(h)).toBe(0);

    h.simulator.faults.add({ endpoint: "statusTask", action: { kind: "reset" } });
    // The window holds the submit's success and then these failures: 3 of 4 (>= 50% of >= 4) opens it.
    for (let i = 0; i < 2; i++) expect((await pollTask(h, "acme", taskId)).status).toBe(502);
    expect(await circuit(h)).toBe(0);
    expect((await pollTask(h, "acme", taskId)).status).toBe(502);
    expect(h.simulator.stats.count("statusTask")).toBe(3);
    expect(await circuit(h)).toBe(2);

    // Open: 503 with Retry-After, and APIXO is not asked at all (a submit neither).
    for (let i = 0; i < 5; i++) {
      const answer = await pollTask(h, "acme", taskId);
      expect(answer.status).toBe(503);
      expect(answer.json().error?.type).toBe("UPSTREAM_UNAVAILABLE");
      expect(Number(answer.headers.get("retry-after"))).toBe(10);
    }
    const submitsBefore = h.simulator.stats.count("generateTask");
    const refused = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...h.auth("acme"), "content-type": "application/json" },
      body: JSON.stringify({ input: { prompt: "x" } }),
    });
    expect(refused.status).toBe(503);
    expect(h.simulator.stats.count("generateTask")).toBe(submitsBefore);
    expect(h.simulator.stats.count("statusTask")).toBe(3);
    // Fail-fast answers are not failures: the circuit stays open exactly until the cool-down ends.
    clock.advance(9_999);
    expect((await pollTask(h, "acme", taskId)).status).toBe(503);
    expect(h.simulator.stats.count("statusTask")).toBe(3);

    // APIXO is back; after the cool-down the probes go through and close the circuit.
    h.simulator.faults.clear();
    clock.advance(1);
    expect((await pollTask(h, "acme", taskId)).status).toBe(200);
    expect(await circuit(h)).toBe(1);
    expect((await pollTask(h, "acme", taskId)).status).toBe(200);
    expect(await circuit(h)).toBe(0);
    expect(h.simulator.stats.count("statusTask")).toBe(5);
  });

  it("opens again when a half-open probe fails", async () => {
    const { h, clock } = await start();
    harness = h;
    const taskId = await newTask(h, "acme");
    h.simulator.faults.add({ endpoint: "statusTask", action: { kind: "status", status: 503 } });
    for (let i = 0; i < 3; i++) expect((await pollTask(h, "acme", taskId)).status).toBe(503);
    expect(h.simulator.stats.count("statusTask")).toBe(3);
    expect(await circuit(h)).toBe(2);
    clock.advance(10_000);
    // The probe reaches APIXO, which still fails: open again for a whole cool-down.
    expect((await pollTask(h, "acme", taskId)).status).toBe(503);
    expect(h.simulator.stats.count("statusTask")).toBe(4);
    expect(await circuit(h)).toBe(2);
    const failFast = await pollTask(h, "acme", taskId);
    expect(failFast.json().error?.type).toBe("UPSTREAM_UNAVAILABLE");
    expect(h.simulator.stats.count("statusTask")).toBe(4);
  });

  it("does not count APIXO's 4xx answers as failures", async () => {
    const { h } = await start();
    harness = h;
    const taskId = await newTask(h, "acme");
    h.simulator.faults.add({ endpoint: "statusTask", times: 8, action: { kind: "status", status: 400 } });
    for (let i = 0; i < 8; i++) expect((await pollTask(h, "acme", taskId)).status).toBe(400);
    expect(await circuit(h)).toBe(0);
    expect((await pollTask(h, "acme", taskId)).status).toBe(200);
  });
});
