import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, inject, it } from "vitest";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import { windowAround } from "./store.contract.js";

/** Redis Cluster's slot: CRC16/XMODEM of the hash tag (or whole key) modulo 16384. */
function keySlot(key: string): number {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

interface ScriptCall {
  readonly keys: readonly string[];
  readonly touched: string[];
}

describe("RedisStore scripts and cluster slots", () => {
  it("computes slots like Redis Cluster", () => {
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("123456789")).toBe(12739);
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
  });

  it("touches only the KEYS it is given, all in the one slot of the tenant's account", async () => {
    const url = inject("redisUrl");
    const prefix = `slots-${randomUUID()}`;
    const calls: ScriptCall[] = [];
    let current: ScriptCall | null = null;
    const monitor = await new Redis(url).monitor();
    const marker = `done-${randomUUID()}`;
    let sawMarker: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (sawMarker = resolve));
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      const [command = "", ...rest] = args;
      const name = command.toLowerCase();
      if (name === "echo" && rest[0] === marker) sawMarker();
      if (name === "eval" || name === "evalsha") {
        const numKeys = Number(rest[1]);
        const keys = rest.slice(2, 2 + numKeys);
        // Other test files share this server: their scripts are not ours to check.
        current = keys.some((k) => k.startsWith(prefix)) ? { keys, touched: [] } : null;
        if (current !== null) calls.push(current);
      } else if (source === "lua" && name !== "time") {
        // Redis logs a script's own commands right after the script: attribute them to that call.
        current?.touched.push(rest[0] ?? "");
      }
    });

    const redis = createRedisClient(url, { commandTimeoutMs: 2000 });
    await waitForRedisReady(redis, 5000);
    const store = new RedisStore({ redis, prefix, accountOf: () => "main" });
    for (const tenantId of ["acme", "globex", "tenant.with:odd-chars"]) {
      const buckets = [
        { name: "submit", ratePerSec: 1, burst: 10 },
        { name: "submit:flux2", ratePerSec: 1, burst: 10 },
      ];
      const days = windowAround(Date.now());
      const base = {
        tenantId,
        model: "flux2",
        buckets,
        maxInFlight: 5,
        caps: [{ window: "daily" as const, capMicros: 10_000 }],
        attribution: {},
        costMicros: 100,
        days,
        upstream: "main",
      };
      const idempotency = { key: "idem-1", ttlSec: 60 };
      const admitted = await store.admitSubmit({
        ...base,
        reservationId: "r1",
        taskMaxAgeMs: 60_000,
        idempotency,
      });
      const day = admitted.kind === "admitted" ? admitted.day : days.today;
      const answer = { status: 200, contentType: "application/json", body: Buffer.from("{}") };
      await store.recordTask({
        ...base,
        taskId: "t1",
        day,
        reservationId: "r1",
        upstream: "main",
        ttlSec: 60,
        attribution: {},
        idempotency: { ...idempotency, answer },
      });
      await store.admitSubmit({ ...base, reservationId: "r2", taskMaxAgeMs: 60_000 });
      await store.releaseReservation({
        tenantId,
        reservationId: "r2",
        days: [day],
        idempotencyKey: "idem-2",
      });
      await store.markUnknown({
        tenantId,
        reservationId: "r6",
        reason: "timeout",
        charge: { day, model: "flux2", costMicros: 100, upstream: "main", attribution: {} },
      });
      await store.markOrphans(tenantId, 0);
      await store.audit(tenantId, day);
      await store.admitStatus({ tenantId, buckets, taskId: "t1" });
      await store.admitSimple({ tenantId, buckets });
      await store.getTask(tenantId, "t1");
      await store.settleTask({ tenantId, taskId: "t1", state: "failed", refund: true });
      await store.admitSubmit({ ...base, reservationId: "r3", taskMaxAgeMs: 60_000 });
      await store.sweepExpired(tenantId, 0);
      // With account limits on, a script also touches the upstream account's keys (the same slot).
      const account = {
        upstream: "main",
        bucket: { name: "account", ratePerSec: 1, burst: 10 },
        maxInFlight: 5,
      };
      const r4 = await store.admitSubmit({ ...base, reservationId: "r4", taskMaxAgeMs: 60_000, account });
      await store.recordTask({
        ...base,
        taskId: "t4",
        day,
        reservationId: "r4",
        upstream: "main",
        ttlSec: 60,
        attribution: {},
      });
      await store.admitStatus({ tenantId, buckets, taskId: "t4", account });
      await store.settleTask({
        tenantId,
        taskId: "t4",
        state: "success",
        refund: true,
        answer,
        account: { upstream: "main" },
      });
      await store.admitSubmit({ ...base, reservationId: "r5", taskMaxAgeMs: 60_000, account });
      await store.releaseReservation({
        tenantId,
        reservationId: "r5",
        days: [day],
        account: { upstream: "main" },
      });
      expect(r4.kind).toBe("admitted");
    }
    await redis.echo(marker);
    await finished;
    monitor.disconnect();
    await store.close();

    expect(calls.length).toBeGreaterThanOrEqual(30);
    const isAccountKey = (key: string) => /:\{acct:main\}:(bucket|inflight)$/.test(key);
    expect(calls.filter((c) => c.keys.some(isAccountKey)).length).toBeGreaterThanOrEqual(15);
    for (const call of calls) {
      // Tenant and account keys alike in the account's one slot: no script crosses slots on a Cluster.
      expect(new Set(call.keys.map(keySlot)).size, `keys of one call: ${call.keys.join(" ")}`).toBe(1);
      expect(new Set(call.keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]))).toEqual(new Set(["acct:main"]));
      for (const key of call.touched) expect(call.keys, `a script touched ${key}`).toContain(key);
    }
    expect(calls.flatMap((c) => c.touched).length).toBeGreaterThan(calls.length);
  });
});
