import { afterEach, describe, expect, it } from "vitest";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import { PRICE_MICROS, eventually, startMoneyStack, type MoneyStack } from "../helpers/moneyHarness.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";

let redis: RedisServer | undefined;
let stack: MoneyStack | undefined;
afterEach(async () => {
  redis?.resume();
  await stack?.close();
  await redis?.stop();
  stack = undefined;
  redis = undefined;
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Redis stalled (SIGSTOP) while submits are in flight, then resumed (SIGCONT)", () => {
  it("charges nothing for the submits refused meanwhile, though Redis runs their admissions when it resumes", async () => {
    redis = await startRedisServer();
    // A cap that fits exactly 10 tasks.
    stack = await startMoneyStack({
      redisUrl: redis.url,
      tenants: [{ id: "acme", dailyCapUsd: 0.315, limits: GENEROUS_LIMITS }],
    });
    const { probe, simulator } = stack;
    expect((await stack.submit("acme")).status).toBe(200);

    redis.pause();
    const refused = await Promise.all([
      stack.submit("acme"),
      stack.submit("acme"),
      stack.submit("acme"),
      stack.submit("acme", { idempotencyKey: "retry-me" }),
    ]);
    // Long enough for the gateway to give up on the connection and make a new one (commands sent on the old
    // one still run when Redis resumes); the next submit times out on the new, not yet ready, connection.
    await pause(2_500);
    refused.push(await stack.submit("acme"));
    expect(refused.map((a) => [a.status, a.type])).toEqual(Array(5).fill([503, "LIMITS_UNAVAILABLE"]));
    expect(simulator.stats.count("generateTask")).toBe(1);
    redis.resume();

    // Redis runs the late admissions; the releases (kept in the journal) void or undo every one of them.
    await eventually(async () => (await stack!.metric("ledger_journal_depth")) === 0);
    await eventually(async () => (await probe.reservations("acme")).length === 0);
    expect(await probe.spentMicros("acme")).toBe(PRICE_MICROS);
    expect((await probe.snapshot("acme")).inFlight).toBe(1);
    expect(await probe.problems("acme")).toEqual([]);
    expect(await stack.metric("reservations_total", 'fate="released"')).toBe(5);

    // The same Idempotency-Key gets a fresh try at once (no late hold left to wait for).
    expect((await stack.submit("acme", { idempotencyKey: "retry-me" })).status).toBe(200);
    // And the whole cap is still there: exactly 10 tasks in all, then 402.
    let accepted = 2;
    for (let last = await stack.submit("acme"); last.status === 200; last = await stack.submit("acme")) {
      accepted += 1;
      if (accepted > 20) break;
    }
    expect(accepted).toBe(10);
    expect(simulator.stats.count("generateTask")).toBe(10);
    expect(await probe.spentMicros("acme")).toBe(10 * PRICE_MICROS);
    expect(await probe.reservations("acme")).toEqual([]);
    expect(await probe.problems("acme")).toEqual([]);
  }, 60_000);
});
