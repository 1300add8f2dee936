import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import {
  PRICE_MICROS,
  UPSTREAM_KEY,
  startMoneyStack,
  type Answer,
  type MoneyStack,
} from "../helpers/moneyHarness.js";

/** A repeatable random source (mulberry32), so a failing run can be run again as it was. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const KS = [1, 37, 100] as const;
const WAVE = 1_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let simulator: Simulator;
let stack: MoneyStack;

beforeAll(async () => {
  simulator = createSimulator({
    keys: { [UPSTREAM_KEY]: 100_000 },
    pendingMs: 600_000,
    processingMs: 0,
    random: seeded(12),
  });
  await simulator.listen(0);
  // APIXO refuses 40 % of submits (a 400 it decides on, after the gateway reserved).
  simulator.faults.add({
    endpoint: "generateTask",
    probability: 0.4,
    action: { kind: "status", status: 400 },
  });
  stack = await startMoneyStack({
    redisUrl: inject("redisUrl"),
    processes: 3,
    simulator,
    // Shipped defaults everywhere but the tenants: a cap that fits exactly k tasks, and a rate limit that
    // lets the bursts reach the cap rather than the tenant's token bucket.
    tenants: KS.map((k) => ({
      id: `k${k}`,
      dailyCapUsd: (k * PRICE_MICROS + PRICE_MICROS / 2) / 1e6,
      limits: { ...GENEROUS_LIMITS, maxInFlight: 100 },
    })),
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
  await simulator.close();
});

/** 1,000 submits at once, spread over the three processes. */
async function wave(tenant: string): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: WAVE }, (_, i) =>
      stack.submit(tenant, { url: stack.urls[i % stack.urls.length] ?? "" }),
    ),
  );
}

describe("1,000 concurrent submits over 3 gateway processes on one healthy Redis, shipped defaults", () => {
  for (const k of KS) {
    it(`forwards and charges exactly ${k} tasks when the cap fits ${k}, with no 503 and nothing left reserved`, async () => {
      const tenant = `k${k}`;
      const tasksBefore = simulator.stats.tasks;
      const answers: Answer[] = [];
      // Waves until the cap is full (APIXO's refusals give reservations back, so one wave rarely fills it).
      for (let waves = 0; waves < 20 && (await stack.probe.spentMicros(tenant)) < k * PRICE_MICROS; waves++) {
        answers.push(...(await wave(tenant)));
        await pause(200);
      }
      const last = await wave(tenant);
      answers.push(...last);

      const statuses = (status: number) => answers.filter((a) => a.status === status).length;
      expect(statuses(503)).toBe(0);
      expect(answers.filter((a) => a.status === 0 || a.status >= 500)).toEqual([]);
      expect(statuses(200)).toBe(k);
      expect(statuses(400)).toBeGreaterThan(0);
      // The full cap leaves nothing for the last wave: all of it refused by the gateway (402 or a 429).
      expect(last.filter((a) => a.status === 200 || a.status === 400)).toEqual([]);
      expect(simulator.stats.tasks - tasksBefore).toBe(k);
      expect(await stack.probe.spentMicros(tenant)).toBe(k * PRICE_MICROS);
      expect(await stack.probe.reservations(tenant)).toEqual([]);
      expect((await stack.probe.snapshot(tenant)).inFlight).toBe(k);
      expect(await stack.probe.problems(tenant)).toEqual([]);
    }, 120_000);
  }
});
