import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { assertFailoverLedger, cappedTenant, steadyLoad } from "../helpers/failoverLoad.js";
import {
  eventually,
  PRICE_MICROS,
  startMoneyStack,
  UPSTREAM_KEY,
  type MoneyStack,
} from "../helpers/moneyHarness.js";
import { startSentinelSetup, type SentinelHarness } from "../helpers/redisTopologies.js";

/** The gateway on Sentinel (a primary, one replica, three sentinels) through 2 `serve` processes. */

const CAP_TASKS = 50;

let sentinel: SentinelHarness;
let simulator: Simulator;
let stack: MoneyStack;

beforeAll(async () => {
  sentinel = await startSentinelSetup();
  simulator = createSimulator({ keys: { [UPSTREAM_KEY]: 100_000 }, pendingMs: 600_000, processingMs: 0 });
  await simulator.listen(0);
  stack = await startMoneyStack({
    redis: sentinel.topology,
    processes: 2,
    simulator,
    tenants: [cappedTenant("steady", CAP_TASKS)],
  });
}, 90_000);

afterAll(async () => {
  await stack.close();
  await simulator.close();
  await sentinel.stop();
});

describe("a Sentinel failover under load (the primary killed, the replica promoted)", () => {
  it("loses no money: no overspend, every task APIXO accepted charged once and pollable, healed without a restart", async () => {
    const primaryBefore = await sentinel.primaryPort();
    expect(primaryBefore).toBe(sentinel.primary.port);
    let stop: () => void = () => undefined;
    const load = steadyLoad(stack, "steady", new Promise<void>((resolve) => (stop = resolve)), {
      pauseMs: 50,
    });
    // The kill lands mid-load, with the cap still far off.
    await eventually(() => simulator.stats.tasks >= 10, 20_000);
    const acceptedBeforeKill = simulator.stats.tasks;
    await sentinel.primary.kill();
    await eventually(async () => (await sentinel.primaryPort()) === sentinel.replica.port, 30_000);
    // Load goes on past the failover until the cap is reached, and a little beyond.
    await eventually(() => simulator.stats.tasks >= CAP_TASKS, 30_000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    stop();
    const record = await load;

    // The cap was reached after the failover: an overspend would show.
    expect(acceptedBeforeKill).toBeLessThan(CAP_TASKS);
    expect(simulator.stats.tasks).toBe(CAP_TASKS);
    await assertFailoverLedger(stack, "steady", record, {
      acceptedByApixo: () => simulator.stats.tasks,
      capMicros: CAP_TASKS * PRICE_MICROS,
    });
  }, 120_000);
});
