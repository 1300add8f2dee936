import { afterEach, describe, expect, it } from "vitest";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import {
  PRICE_MICROS,
  eventually,
  startMoneyStack,
  type Answer,
  type MoneyStack,
} from "../helpers/moneyHarness.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcpProxy.js";

let redis: RedisServer | undefined;
let proxy: TcpProxy | undefined;
let stack: MoneyStack | undefined;
afterEach(async () => {
  await stack?.close();
  await proxy?.close();
  await redis?.stop();
  stack = undefined;
  proxy = undefined;
  redis = undefined;
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TENANT = { id: "acme", dailyCapUsd: 100, limits: { ...GENEROUS_LIMITS, maxInFlight: null } };
// The account's own budget would refuse most of a burst before it met the fault.
const NO_ACCOUNT_BUDGET = {
  upstream: { protection: { account: { requestsPerMinute: null, maxInFlightTasks: null } } },
};

/** `workers` clients submitting one after another until `stop()` says so; every answer they got. */
function submitters(stack: MoneyStack, workers: number): { stop(): Promise<Answer[]> } {
  let running = true;
  const answers: Answer[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) answers.push(await stack.submit("acme"));
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** The ledger afterwards: exactly the accepted tasks charged and in flight, nothing else held. */
async function expectExactLedger(stack: MoneyStack, answers: readonly Answer[]): Promise<void> {
  const accepted = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status !== 200);
  expect(new Set(refused.map((a) => a.type))).toEqual(new Set(["LIMITS_UNAVAILABLE"]));
  // What APIXO saw: every accepted task, and nothing for the refused submits.
  expect(stack.simulator.stats.tasks).toBe(accepted.length);
  await eventually(async () => (await stack.metric("ledger_journal_depth")) === 0);
  await eventually(async () => (await stack.probe.reservations("acme")).length === 0);
  expect(await stack.probe.spentMicros("acme")).toBe(accepted.length * PRICE_MICROS);
  expect((await stack.probe.snapshot("acme")).inFlight).toBe(accepted.length);
  expect(await stack.probe.problems("acme")).toEqual([]);
  expect(await stack.metric("reservations_total", 'fate="charged"')).toBe(accepted.length);
  expect(await stack.metric("reservations_total", 'fate="released"')).toBe(refused.length);
  for (const answer of accepted) expect((await stack.poll("acme", answer.taskId ?? "")).status).toBe(200);
}

describe("Redis killed (kill -9) mid-burst and restarted with its data", () => {
  it("charges exactly the tasks APIXO accepted, whatever was in flight when Redis died", async () => {
    // Every write is on disk before Redis answers it: what it applied survives, its last replies may not.
    redis = await startRedisServer({ appendOnly: true });
    stack = await startMoneyStack({ redisUrl: redis.url, tenants: [TENANT], config: NO_ACCOUNT_BUDGET });
    // APIXO answers a little late, so tasks are still being accepted after Redis died (their records wait
    // in the journal) while other submits' admissions are on their way to Redis.
    stack.simulator.faults.add({ endpoint: "generateTask", action: { kind: "delay", ms: 50 } });
    const load = submitters(stack, 40);
    await pause(400);
    await redis.kill();
    await pause(1_000);
    await redis.restart();
    await pause(400);
    const answers = await load.stop();
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    await expectExactLedger(stack, answers);
  }, 60_000);
});

describe("Redis's replies lost on the way back (the commands ran)", () => {
  it("releases every admission whose answer never came back, so none of them is charged", async () => {
    redis = await startRedisServer();
    proxy = await startTcpProxy(redis.port);
    stack = await startMoneyStack({ redisUrl: proxy.url, tenants: [TENANT], config: NO_ACCOUNT_BUDGET });
    const first = await stack.submit("acme");
    expect(first.status).toBe(200);
    proxy.dropReplies();
    const lost = await Promise.all(Array.from({ length: 20 }, () => stack!.submit("acme")));
    expect(lost.map((a) => a.type)).toEqual(Array(20).fill("LIMITS_UNAVAILABLE"));
    // Redis did run them: 21 reservations' worth of spend is there before the releases reach it.
    proxy.cut();
    proxy.heal();
    await expectExactLedger(stack, [first, ...lost]);
  }, 60_000);
});
