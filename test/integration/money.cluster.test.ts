import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import {
  eventually,
  PRICE_MICROS,
  startMoneyStack,
  type Answer,
  type MoneyStack,
} from "../helpers/moneyHarness.js";
import { startRedisCluster, type RedisClusterHarness } from "../helpers/redisTopologies.js";
import { assertFailoverLedger, cappedTenant, statusCounts, steadyLoad } from "../helpers/failoverLoad.js";
import { errorReplies, moveSlot } from "../helpers/slotMigration.js";

/**
 * The gateway on a real 3-master Redis Cluster through 2 `serve` processes, with account budgets on (the
 * default): tenants of three upstream keys whose slots are on three different masters.
 */

const CAP_TASKS = 40;
/** The failover tenant's cap: the load reaches it after the failover, so an overspend would show. */
const STEADY_CAP_TASKS = 50;
const BURST = 500;

let cluster: RedisClusterHarness;
let simulator: Simulator;
let stack: MoneyStack;
/** One upstream alias per master: the tenants of each live on that master. */
let aliases: string[];

/** Aliases `u0`, `u1`, ... until one hashes to each master (a tenant's keys carry `{acct:<alias>}`). */
async function aliasPerMaster(): Promise<string[]> {
  const masters = await cluster.masters();
  const seed = cluster.nodes[0];
  if (seed === undefined) throw new Error("no node");
  const redis = new Redis({ port: seed.port, host: "127.0.0.1" });
  try {
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < masters.length && i < 1000; i++) {
      const alias = `u${i}`;
      const slot = await redis.cluster("KEYSLOT", `acct:${alias}`);
      const master = await cluster.masterOf(slot);
      if (!byMaster.has(master)) byMaster.set(master, alias);
    }
    return [...byMaster.values()];
  } finally {
    redis.disconnect();
  }
}

const keyOf = (alias: string) => `sk-sim-cluster-${alias}-0123456789`;

/** The slot of an upstream key's accounts (and of its tenants' keys). */
async function slotOf(alias: string): Promise<number> {
  const seed = cluster.nodes[0];
  if (seed === undefined) throw new Error("no node");
  const redis = new Redis({ port: seed.port, host: "127.0.0.1" });
  try {
    return await redis.cluster("KEYSLOT", `acct:${alias}`);
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  aliases = await aliasPerMaster();
  simulator = createSimulator({
    keys: Object.fromEntries(aliases.map((a) => [keyOf(a), 100_000])),
    pendingMs: 600_000,
    processingMs: 0,
  });
  await simulator.listen(0);
  stack = await startMoneyStack({
    redis: cluster.topology,
    processes: 2,
    simulator,
    config: { upstream: { keys: aliases.map((alias) => ({ alias, key: keyOf(alias) })) } },
    tenants: [
      cappedTenant("steady", STEADY_CAP_TASKS, { upstreamKey: aliases[0] ?? "" }),
      { id: "moving", upstreamKey: aliases[1] ?? "", limits: GENEROUS_LIMITS },
      ...aliases.flatMap((alias, i) => [
        { id: `free${i}`, upstreamKey: alias, limits: GENEROUS_LIMITS },
        cappedTenant(`capped${i}`, CAP_TASKS, { upstreamKey: alias }),
      ]),
    ],
  });
}, 90_000);

afterAll(async () => {
  await stack.close();
  await simulator.close();
  await cluster.stop();
});

describe("the gateway on a healthy 3-master Redis Cluster, account budgets on", () => {
  it("puts the tenants' accounts on all three masters", () => {
    expect(aliases).toHaveLength(3);
  });

  it("answers every submit and poll of tenants on all three masters, never 5xx, through either process", async () => {
    const answers: Answer[] = [];
    const polls: Answer[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < aliases.length; i++) {
        const url = stack.urls[(round + i) % stack.urls.length] ?? "";
        const answer = await stack.submit(`free${i}`, { url });
        answers.push(answer);
        // The poll through the other process, whose client may hold another view of the slots.
        const other = stack.urls[(round + i + 1) % stack.urls.length] ?? "";
        polls.push(await stack.poll(`free${i}`, answer.taskId ?? "", other));
      }
    }
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(polls.map((a) => a.status)).toEqual(polls.map(() => 200));
    for (let i = 0; i < aliases.length; i++) {
      expect(await stack.probe.spentMicros(`free${i}`)).toBe(5 * PRICE_MICROS);
      expect(await stack.probe.problems(`free${i}`)).toEqual([]);
    }
  }, 60_000);

  it(`admits exactly ${CAP_TASKS} per tenant of ${BURST} concurrent submits over 2 processes when the cap fits ${CAP_TASKS}`, async () => {
    const tasksBefore = simulator.stats.tasks;
    const answers = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        stack
          .submit(`capped${i % aliases.length}`, { url: stack.urls[i % stack.urls.length] ?? "" })
          .then((answer) => ({ tenant: i % aliases.length, answer })),
      ),
    );
    expect(answers.filter(({ answer }) => answer.status === 0 || answer.status >= 500)).toEqual([]);
    for (let i = 0; i < aliases.length; i++) {
      const mine = answers.filter((a) => a.tenant === i).map((a) => a.answer);
      expect(mine.filter((a) => a.status === 200)).toHaveLength(CAP_TASKS);
      expect(mine.filter((a) => a.status !== 200 && a.status !== 402 && a.status !== 429)).toEqual([]);
      expect(await stack.probe.spentMicros(`capped${i}`)).toBe(CAP_TASKS * PRICE_MICROS);
      expect(await stack.probe.reservations(`capped${i}`)).toEqual([]);
      expect((await stack.probe.snapshot(`capped${i}`)).inFlight).toBe(CAP_TASKS);
      expect(await stack.probe.problems(`capped${i}`)).toEqual([]);
    }
    expect(simulator.stats.tasks - tasksBefore).toBe(CAP_TASKS * aliases.length);
  }, 120_000);

  it("follows MOVED, ASK and TRYAGAIN while a tenant's slot is resharded under load: every answer 200, each task charged once", async () => {
    const slot = await slotOf(aliases[1] ?? "");
    const from = await cluster.masterOf(slot);
    const to = await cluster.masterOf(await slotOf(aliases[2] ?? ""));
    const masters = [...new Set(await cluster.masters())];
    const redirects = async () =>
      (
        await Promise.all(
          [from, to].flatMap((port) => ["MOVED", "ASK", "TRYAGAIN"].map((kind) => errorReplies(port, kind))),
        )
      ).reduce((a, b) => a + b, 0);
    const redirectsBefore = await redirects();
    const tasksBefore = simulator.stats.tasks;

    let stop: () => void = () => undefined;
    const load = steadyLoad(stack, "moving", new Promise<void>((resolve) => (stop = resolve)), {
      pauseMs: 10,
    });
    await eventually(() => simulator.stats.tasks - tasksBefore >= 10, 20_000);
    const { keysMoved } = await moveSlot(slot, from, to, masters, { batch: 10, pauseMs: 5 });
    // The load goes on once the slot is assigned, so clients with the old slot map meet MOVED.
    const tasksAtMove = simulator.stats.tasks;
    await eventually(() => simulator.stats.tasks - tasksAtMove >= 10, 20_000);
    stop();
    const record = await load;

    expect(await cluster.masterOf(slot)).toBe(to);
    expect(keysMoved).toBeGreaterThan(0);
    // Redirects were sent (so the clients met them) and every one was followed: no answer but 200.
    expect(await redirects()).toBeGreaterThan(redirectsBefore);
    expect(statusCounts(record.submits)).toEqual({ 200: record.submits.length });
    expect(statusCounts(record.polls)).toEqual({ 200: record.polls.length });
    const accepted = simulator.stats.tasks - tasksBefore;
    expect(record.accepted).toHaveLength(accepted);
    expect(await stack.probe.spentMicros("moving")).toBe(accepted * PRICE_MICROS);
    expect(await stack.probe.reservations("moving")).toEqual([]);
    expect(await stack.probe.problems("moving")).toEqual([]);
  }, 90_000);
});

describe("a cluster failover under load (the master of a tenant's slot killed, its replica promoted)", () => {
  it("loses no money: no overspend, every task APIXO accepted charged once and pollable, healed without a restart", async () => {
    const seed = cluster.nodes[0];
    if (seed === undefined) throw new Error("no node");
    const probe = new Redis({ port: seed.port, host: "127.0.0.1" });
    const slot = await probe.cluster("KEYSLOT", `acct:${aliases[0] ?? ""}`);
    probe.disconnect();
    const masterPort = await cluster.masterOf(slot);
    const master = cluster.nodes.find((n) => n.port === masterPort);
    if (master === undefined) throw new Error("no master for the slot");
    const tasksBefore = simulator.stats.tasks;

    let stop: () => void = () => undefined;
    const load = steadyLoad(stack, "steady", new Promise<void>((resolve) => (stop = resolve)), {
      pauseMs: 50,
    });
    // The kill lands mid-load, with the cap still far off.
    await eventually(() => simulator.stats.tasks - tasksBefore >= 10, 20_000);
    const acceptedBeforeKill = simulator.stats.tasks - tasksBefore;
    await master.kill();
    await cluster.healthy(30_000);
    // Load goes on past the failover until the cap is reached, and a little beyond.
    await eventually(() => simulator.stats.tasks - tasksBefore >= STEADY_CAP_TASKS, 30_000).catch(
      () => undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    stop();
    const record = await load;
    // The failover was felt, and the cap was reached after it: an overspend would show.
    expect(acceptedBeforeKill).toBeLessThan(STEADY_CAP_TASKS);
    expect(simulator.stats.tasks - tasksBefore).toBe(STEADY_CAP_TASKS);

    await assertFailoverLedger(stack, "steady", record, {
      acceptedByApixo: () => simulator.stats.tasks - tasksBefore,
      capMicros: STEADY_CAP_TASKS * PRICE_MICROS,
    });
  }, 120_000);
});
