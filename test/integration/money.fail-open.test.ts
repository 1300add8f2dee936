import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startServeProcesses, type CliProcess } from "../helpers/cli.js";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import { PRICE_MICROS, eventually, startMoneyStack, type MoneyStack } from "../helpers/moneyHarness.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";

let redis: RedisServer | undefined;
let stack: MoneyStack | undefined;
const extra: CliProcess[] = [];
afterEach(async () => {
  for (const p of extra.splice(0)) await p.stop();
  await stack?.close();
  await redis?.stop();
  stack = undefined;
  redis = undefined;
});

const TENANT = { id: "acme", dailyCapUsd: 100, limits: { ...GENEROUS_LIMITS, maxInFlight: null } };

describe("fail-open: Redis down for a while, then back", () => {
  it("records and charges once every task APIXO accepted meanwhile, and each becomes pollable", async () => {
    redis = await startRedisServer({ appendOnly: true });
    stack = await startMoneyStack({
      redisUrl: redis.url,
      tenants: [TENANT],
      config: { store: { failurePolicy: "fail-open" } },
    });
    const { probe, simulator } = stack;
    const before = await stack.submit("acme");
    expect(before.status).toBe(200);

    await redis.kill();
    const during = await Promise.all(Array.from({ length: 30 }, () => stack!.submit("acme")));
    expect(during.map((a) => a.status)).toEqual(Array(30).fill(200));
    // Whose task is this cannot be answered without the ledger: polls fail closed meanwhile.
    expect((await stack.poll("acme", during[0]?.taskId ?? "")).type).toBe("LIMITS_UNAVAILABLE");
    expect(await stack.metric("ledger_journal_depth")).toBe(30);
    await redis.restart();

    await eventually(async () => (await stack!.metric("ledger_journal_depth")) === 0);
    for (const answer of [before, ...during]) {
      expect((await stack.poll("acme", answer.taskId ?? "")).status).toBe(200);
    }
    expect(simulator.stats.tasks).toBe(31);
    expect(await probe.spentMicros("acme")).toBe(31 * PRICE_MICROS);
    expect(await probe.reservations("acme")).toEqual([]);
    expect(await probe.problems("acme")).toEqual([]);
    expect(await stack.metric("reservations_total", 'fate="charged"')).toBe(31);
    expect(await stack.metric("ledger_journal_dropped_total")).toBe(0);
  }, 60_000);

  it("loses none of them when the gateway itself is killed meanwhile: its journal file is applied on restart", async () => {
    redis = await startRedisServer({ appendOnly: true });
    const journal = join(mkdtempSync(join(tmpdir(), "agw-journal-")), "ledger.jsonl");
    stack = await startMoneyStack({
      redisUrl: redis.url,
      tenants: [TENANT],
      config: { store: { failurePolicy: "fail-open", journal: { path: journal } } },
    });
    await redis.kill();
    const during = await Promise.all(Array.from({ length: 20 }, () => stack!.submit("acme")));
    expect(during.map((a) => a.status)).toEqual(Array(20).fill(200));
    // kill -9: no shutdown, no flush.
    await stack.processes[0]?.stop();
    await redis.restart();

    const restarted = await startServeProcesses(stack.config, 1);
    extra.push(...restarted.processes);
    await eventually(async () => (await stack!.probe.spentMicros("acme")) === 20 * PRICE_MICROS);
    for (const answer of during) {
      expect((await stack.poll("acme", answer.taskId ?? "", restarted.urls[0])).status).toBe(200);
    }
    expect((await stack.probe.snapshot("acme")).inFlight).toBe(20);
    expect(await stack.probe.reservations("acme")).toEqual([]);
    expect(await stack.probe.problems("acme")).toEqual([]);
  }, 60_000);
});
