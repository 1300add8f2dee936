import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import { PRICE_MICROS, startMoneyStack, type MoneyStack } from "../helpers/moneyHarness.js";

/**
 * A submit is answered once its ledger record is sent to Redis, not once Redis has applied it
 * (src/ledger/writer.ts): the record goes out before the answer, so the poll the answer makes possible, on
 * any replica, finds the task.
 */
let stack: MoneyStack;

beforeAll(async () => {
  stack = await startMoneyStack({
    redisUrl: inject("redisUrl"),
    processes: 3,
    // The account's shared rate limit off, so every answer is the ledger's, not a 429.
    config: { upstream: { protection: { account: { requestsPerMinute: null, maxInFlightTasks: null } } } },
    tenants: [{ id: "polls", limits: { ...GENEROUS_LIMITS, maxInFlight: 1_000 } }],
  });
  // APIXO refuses a fifth of submits after the gateway reserved: those reservations are released.
  stack.simulator.faults.add({
    endpoint: "generateTask",
    probability: 0.2,
    action: { kind: "status", status: 400 },
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
});

describe("a task is pollable as soon as its submit is answered", () => {
  it("finds every answered task at once, on the process that answered it and on another, during a burst", async () => {
    const n = 600;
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const here = stack.urls[i % stack.urls.length] ?? "";
        const there = stack.urls[(i + 1) % stack.urls.length] ?? "";
        const submitted = await stack.submit("polls", { url: here });
        if (submitted.status !== 200 || submitted.taskId === undefined) return { submitted, polls: [] };
        // No pause: both polls leave the moment the answer has arrived.
        const polls = await Promise.all([
          stack.poll("polls", submitted.taskId, here),
          stack.poll("polls", submitted.taskId, there),
        ]);
        return { submitted, polls: polls.map((p) => `${p.status} ${p.state ?? p.type ?? ""}`) };
      }),
    );
    expect(results.filter((r) => ![200, 400].includes(r.submitted.status))).toEqual([]);
    const accepted = results.filter((r) => r.submitted.status === 200);
    expect(accepted.length).toBeGreaterThan(n / 2);
    expect(accepted.filter((r) => r.polls.join() !== "200 pending,200 pending")).toEqual([]);
    // And the money: each accepted task charged once, every refused one released, nothing left reserved.
    expect(await stack.probe.spentMicros("polls")).toBe(accepted.length * PRICE_MICROS);
    expect(await stack.probe.reservations("polls")).toEqual([]);
    expect((await stack.probe.snapshot("polls")).inFlight).toBe(accepted.length);
    expect(await stack.probe.problems("polls")).toEqual([]);
  }, 120_000);
});
