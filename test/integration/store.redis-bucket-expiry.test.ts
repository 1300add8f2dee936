import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { tenantKeys } from "../../src/limits/keys.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import type { BucketSpec } from "../../src/limits/store.js";

/**
 * A bucket's key may expire only once the bucket would be full again (a missing key reads as a full bucket),
 * and its expiry is pushed out only when it falls short of that (lua/common.ts `take`), not on every take.
 */
describe("Redis bucket keys expire no earlier than the bucket is full again", () => {
  const url = inject("redisUrl");
  const prefix = `bucket-expiry-${randomUUID()}`;
  const raw = new Redis(url);
  const redis = createRedisClient(url, { commandTimeoutMs: 2000 });
  const store = new RedisStore({ redis, prefix, accountOf: () => "main", ownsClient: false });

  beforeAll(async () => {
    await waitForRedisReady(redis, 5000);
  });
  afterAll(async () => {
    await store.close();
    redis.disconnect();
    raw.disconnect();
  });

  /** The instant (ms) the bucket's stored state refills to its burst. */
  async function fullAt(key: string, bucket: BucketSpec): Promise<number> {
    const [tokens, ts] = await raw.hmget(key, "tokens", "ts");
    return Number(ts) + ((bucket.burst - Number(tokens)) / bucket.ratePerSec) * 1000;
  }

  it("outlives the refill after every take, with a fast and with a slow bucket", async () => {
    for (const bucket of [
      { name: "fast", ratePerSec: 50, burst: 5 },
      { name: "slow", ratePerSec: 0.01, burst: 10 },
    ] satisfies BucketSpec[]) {
      const tenantId = `t-${bucket.name}`;
      const key = tenantKeys(prefix, tenantId, "main").bucket(bucket.name);
      for (let i = 0; i < bucket.burst; i++) {
        const decision = await store.admitSimple({ tenantId, buckets: [bucket] });
        expect(decision.kind).toBe("admitted");
        const expiresAt = Number(await raw.call("PEXPIRETIME", key));
        expect(expiresAt).toBeGreaterThanOrEqual(await fullAt(key, bucket));
      }
    }
  });

  it("sets the expiry once, not on every take, while it covers the refill", async () => {
    // 10 tokens at 0.01/s: full again 100 s after each take at most 1,000 s on; the expiry set at the first
    // take (2,000 s on) covers every later take, so only that first take moves it.
    const bucket: BucketSpec = { name: "submit", ratePerSec: 0.01, burst: 10 };
    const tenantId = "t-count";
    const key = tenantKeys(prefix, tenantId, "main").bucket(bucket.name);
    const monitor = await new Redis(url).monitor();
    const expiries: string[] = [];
    const marker = `done-${randomUUID()}`;
    let sawMarker: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (sawMarker = resolve));
    monitor.on("monitor", (_time: string, args: string[]) => {
      const [command = "", first = ""] = args;
      const name = command.toLowerCase();
      if (name === "echo" && first === marker) sawMarker();
      if (name.startsWith("pexpire") && first === key) expiries.push(name);
    });
    try {
      for (let i = 0; i < bucket.burst; i++) {
        expect((await store.admitSimple({ tenantId, buckets: [bucket] })).kind).toBe("admitted");
      }
      expect((await store.admitSimple({ tenantId, buckets: [bucket] })).kind).toBe("rate_limited");
      await raw.echo(marker);
      await finished;
    } finally {
      monitor.disconnect();
    }
    expect(expiries).toEqual(["pexpireat"]);
    expect(Number(await raw.call("PEXPIRETIME", key))).toBeGreaterThanOrEqual(await fullAt(key, bucket));
  });
});
