import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { singleRedis } from "../../src/config/redis.js";
import { tenantKeys } from "../../src/limits/keys.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady, type RedisConnection } from "../../src/limits/redisClient.js";
import type { SubmitRequest } from "../../src/limits/store.js";
import { windowAround } from "./store.contract.js";

/**
 * A Redis written by a version without month totals: its days hold the month's charges, its month key does not.
 * reconcileMonth counts them in, so the monthly cap holds in the month of the upgrade.
 */

let redis: RedisConnection;
let store: RedisStore;
const prefix = `upgrade-${randomUUID()}`;

beforeAll(async () => {
  redis = createRedisClient(singleRedis(inject("redisUrl")), { commandTimeoutMs: 5000 });
  await waitForRedisReady(redis, 10_000);
  store = new RedisStore({ redis, prefix, accountOf: () => "main", ownsClient: false });
});
afterAll(async () => {
  await store.close();
  redis.disconnect();
});

describe("upgrading to month totals", () => {
  it("counts the days an earlier version charged into the month, so the monthly cap holds", async () => {
    const days = windowAround(Date.now(), "2026-11-22");
    const k = tenantKeys(prefix, "acme", "main");
    // What the earlier version left: day spend only.
    await redis.set(k.spend("2026-11-03"), "4000");
    await redis.set(k.spend("2026-11-21"), "1000");
    await redis.set(k.spend("2026-10-31"), "9000"); // another month: not counted
    const submit = (): SubmitRequest => ({
      tenantId: "acme",
      model: "flux2",
      buckets: [{ name: "submit", ratePerSec: 1000, burst: 1000 }],
      maxInFlight: null,
      caps: [{ window: "monthly", capMicros: 7000 }],
      attribution: {},
      costMicros: 1000,
      days,
      reservationId: randomUUID(),
      taskMaxAgeMs: 3_600_000,
      upstream: "main",
    });
    expect(await store.reconcileMonth("acme", "2026-11")).toBe(5000);
    expect((await store.admitSubmit(submit())).kind).toBe("admitted");
    expect((await store.admitSubmit(submit())).kind).toBe("admitted");
    expect(await store.admitSubmit(submit())).toMatchObject({ kind: "spend_cap", spentMicros: 7000 });
    // Reconciling again while the month has new charges changes nothing: the days hold them too.
    expect(await store.reconcileMonth("acme", "2026-11")).toBe(7000);
  });
});
