import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import {
  PRICE_MICROS,
  UPSTREAM_KEY,
  days,
  startMoneyStack,
  type Answer,
  type MoneyStack,
} from "../helpers/moneyHarness.js";

/**
 * The monthly and per-user caps are exact across replicas: 500 submits at once over two gateway processes on
 * one Redis, shipped defaults but the tenants' caps, and the ledger counted afterwards.
 */

const N = 37;
const USERS = 10;
const PER_USER = 3;

let simulator: Simulator;
let stack: MoneyStack;

beforeAll(async () => {
  simulator = createSimulator({ keys: { [UPSTREAM_KEY]: 100_000 }, pendingMs: 600_000, processingMs: 0 });
  await simulator.listen(0);
  stack = await startMoneyStack({
    redisUrl: inject("redisUrl"),
    processes: 2,
    simulator,
    tenants: [
      {
        id: "monthly",
        timeZone: "Asia/Tokyo",
        monthlyCapUsd: (N * PRICE_MICROS + PRICE_MICROS / 2) / 1e6,
        limits: { ...GENEROUS_LIMITS, maxInFlight: 1000 },
      },
      {
        id: "users",
        timeZone: "America/Los_Angeles",
        userDailyCapUsd: (PER_USER * PRICE_MICROS) / 1e6,
        limits: { ...GENEROUS_LIMITS, maxInFlight: 1000 },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
  await simulator.close();
});

function burst(tenant: string, headersOf: (i: number) => Record<string, string>): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      stack.submit(tenant, { url: stack.urls[i % stack.urls.length] ?? "", headers: headersOf(i) }),
    ),
  );
}

/** Answers the gateway failed (connection lost or 5xx), by status and error type: none expected. */
function failures(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    if (a.status !== 0 && a.status < 500) continue;
    const key = `${a.status} ${a.type ?? ""}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const statusCount = (answers: readonly Answer[], status: number) =>
  answers.filter((a) => a.status === status).length;

describe("500 concurrent submits over 2 gateway processes on one Redis", () => {
  it(`forwards and charges exactly ${N} tasks when the monthly cap fits ${N}`, async () => {
    const tasksBefore = simulator.stats.tasks;
    const answers = await burst("monthly", () => ({}));
    expect(failures(answers)).toEqual({});
    expect(statusCount(answers, 200)).toBe(N);
    expect(statusCount(answers, 402)).toBe(500 - N);
    expect(simulator.stats.tasks - tasksBefore).toBe(N);
    const snapshot = await stack.probe.snapshot("monthly");
    expect(snapshot.monthSpentMicros).toBe(N * PRICE_MICROS);
    expect(await stack.probe.reservations("monthly")).toEqual([]);
    expect(await stack.probe.problems("monthly")).toEqual([]);
  }, 120_000);

  it(`gives each of ${USERS} end users exactly ${PER_USER} tasks, and requests without X-Gateway-User none of that cap`, async () => {
    const userOf = (i: number) => (i % 12 < USERS ? `user-${i % 12}` : undefined);
    const answers = await burst("users", (i) => {
      const user = userOf(i);
      return user === undefined ? {} : { "x-gateway-user": user, "x-gateway-feature": "batch" };
    });
    const anonymous = Array.from({ length: 500 }, (_, i) => userOf(i)).filter((u) => u === undefined).length;
    expect(failures(answers)).toEqual({});
    expect(statusCount(answers, 200)).toBe(USERS * PER_USER + anonymous);
    const rollups = await stack.probe.store.usage("users", days());
    const byUser = new Map<string, number>();
    for (const r of rollups)
      for (const [user, f] of Object.entries(r.byUser)) byUser.set(user, (byUser.get(user) ?? 0) + f.tasks);
    expect([...byUser.values()]).toEqual(Array.from({ length: USERS }, () => PER_USER));
    expect(await stack.probe.spentMicros("users")).toBe((USERS * PER_USER + anonymous) * PRICE_MICROS);
    expect(await stack.probe.problems("users")).toEqual([]);
  }, 120_000);
});
