import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import { StoreUnavailable, type SubmitRequest } from "../../src/limits/store.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";
import { windowAround } from "./store.contract.js";

const COMMAND_TIMEOUT_MS = 300;

function request(): SubmitRequest {
  return {
    tenantId: "acme",
    model: "flux2",
    buckets: [{ name: "submit", ratePerSec: 10, burst: 100_000 }],
    maxInFlight: null,
    caps: [{ window: "daily", capMicros: 1_000_000 }],
    attribution: {},
    costMicros: 1,
    days: windowAround(Date.now()),
    reservationId: `r-${Math.random()}`,
    taskMaxAgeMs: 60_000,
    upstream: "main",
  };
}

/** How long a promise takes to settle and whether it rejected with StoreUnavailable. */
async function outcome(work: Promise<unknown>): Promise<{ unavailable: boolean; elapsedMs: number }> {
  const started = performance.now();
  try {
    await work;
    return { unavailable: false, elapsedMs: performance.now() - started };
  } catch (err) {
    return { unavailable: err instanceof StoreUnavailable, elapsedMs: performance.now() - started };
  }
}

describe("RedisStore when Redis fails", () => {
  let server: RedisServer;
  let redis: Redis;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedisClient(server.url, { maxReconnectDelayMs: 200, onError: () => undefined });
    await waitForRedisReady(redis, 5000);
    store = new RedisStore({
      redis,
      prefix: "faults",
      silenceMs: COMMAND_TIMEOUT_MS,
      accountOf: () => "main",
    });
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  it("never times out a healthy Redis whose replies wait behind the gateway's own busy event loop", async () => {
    // 2,000 admissions in flight, then the event loop is blocked for twice the timeout: every command's
    // timer is due before the replies (already in the socket) are read, which a per-command timer took
    // for a dead Redis.
    const calls = Array.from({ length: 2_000 }, () => outcome(store.admitSubmit(request())));
    const blockedUntil = performance.now() + 2 * COMMAND_TIMEOUT_MS;
    while (performance.now() < blockedUntil) {
      // busy: the gateway parsing a burst of bodies
    }
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.unavailable)).toHaveLength(0);
  });

  it("times out a silent server with StoreUnavailable instead of hanging", async () => {
    expect((await store.admitSubmit(request())).kind).toBe("admitted");
    const admin = new Redis(server.url);
    await admin.call("CLIENT", "PAUSE", "1500", "ALL");
    const paused = await outcome(store.admitSubmit(request()));
    admin.disconnect();
    expect(paused.unavailable).toBe(true);
    expect(paused.elapsedMs).toBeLessThan(2000);
  });

  it("fails fast with StoreUnavailable while Redis is down, then recovers on the same client", async () => {
    await server.stop();
    for (const call of [store.admitSubmit(request()), store.getTask("acme", "t"), store.ping()]) {
      const down = await outcome(call);
      expect(down.unavailable).toBe(true);
      expect(down.elapsedMs).toBeLessThan(2000);
    }
    await server.restart();
    // Reconnection is the client's own job; wait for it without sleeping a fixed time.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      if (!(await outcome(store.ping())).unavailable) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The restarted server lost the scripts: the defined commands must load them again by themselves.
    expect((await store.admitSubmit(request())).kind).toBe("admitted");
    expect((await store.snapshot("acme", request().days.today)).inFlight).toBeGreaterThan(0);
  });
});
