import { afterEach, describe, expect, inject, it } from "vitest";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import { PRICE_MICROS, eventually, startMoneyStack, type MoneyStack } from "../helpers/moneyHarness.js";

let stack: MoneyStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe("the circuit breaker open while submits arrive", () => {
  it("releases every submit it fails fast, so the tenant keeps its whole cap and in-flight allowance", async () => {
    stack = await startMoneyStack({
      redisUrl: inject("redisUrl"),
      // In flight and cap both fit exactly 5 tasks.
      tenants: [{ id: "acme", dailyCapUsd: 0.165, limits: { ...GENEROUS_LIMITS, maxInFlight: 5 } }],
      config: {
        upstream: {
          protection: {
            breaker: { windowSize: 4, minRequests: 4, failureRatio: 0.5, coolDownMs: 1_000, probes: 1 },
          },
        },
      },
    });
    const { probe, simulator } = stack;
    // APIXO fails four submits: the breaker opens.
    simulator.faults.add({ endpoint: "generateTask", times: 4, action: { kind: "status", status: 500 } });
    const failed = [];
    for (let i = 0; i < 4; i++) failed.push(await stack.submit("acme"));
    expect(failed.map((a) => a.status)).toEqual([500, 500, 500, 500]);
    // One after another: each must find the slots of the ones before it given back (5 in flight at most).
    const fastFailed = [];
    for (let i = 0; i < 30; i++) fastFailed.push(await stack.submit("acme"));
    expect(fastFailed.map((a) => [a.status, a.type])).toEqual(Array(30).fill([503, "UPSTREAM_UNAVAILABLE"]));
    expect(simulator.stats.count("generateTask")).toBe(4);
    expect(await probe.reservations("acme")).toEqual([]);
    expect(await probe.spentMicros("acme")).toBe(0);
    expect((await probe.snapshot("acme")).inFlight).toBe(0);
    expect(await stack.metric("reservations_total", 'fate="released"')).toBe(34);

    // Once APIXO answers again the tenant gets all 5 tasks, then its limits, not leftovers of the outage.
    await eventually(async () => (await stack!.submit("acme")).status === 200, 10_000);
    const after = [];
    for (let i = 0; i < 4; i++) after.push((await stack.submit("acme")).status);
    expect(after).toEqual([200, 200, 200, 200]);
    const sixth = await stack.submit("acme");
    expect(sixth.type).toBe("CONCURRENCY_LIMITED");
    expect(await probe.spentMicros("acme")).toBe(5 * PRICE_MICROS);
    expect(await probe.reservations("acme")).toEqual([]);
    expect(await probe.problems("acme")).toEqual([]);
  }, 60_000);
});
