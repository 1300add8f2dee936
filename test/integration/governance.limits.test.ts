import { afterEach, describe, expect, inject, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startGateway } from "../../src/gateway/gateway.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { StoreUnavailable } from "../../src/limits/store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";
import { GENEROUS_LIMITS, startHarness, type Harness } from "../helpers/gatewayHarness.js";

let harness: Harness | undefined;
let second: Harness | undefined;
let redis: RedisServer | undefined;
afterEach(async () => {
  await harness?.close();
  await second?.close();
  await redis?.stop();
  harness = second = undefined;
  redis = undefined;
});

const BODY = JSON.stringify({ input: { prompt: "a cat" } });

function submitTo(url: string, key: string) {
  return fetch(`${url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: BODY,
  });
}

describe("token-bucket rate limits", () => {
  it("lets exactly the burst through at once, then refills at the configured rate", async () => {
    const clock = new ManualClock();
    harness = await startHarness({
      tenants: [{ id: "acme", limits: { ...GENEROUS_LIMITS, submit: { ratePerSec: 2, burst: 5 } } }],
      gateway: { clock, store: new MemoryStore({ clock }) },
    });
    const key = harness.keys.acme!;
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () => submitTo(harness!.url, key).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);

    const denied = await submitTo(harness.url, key);
    expect(denied.status).toBe(429);
    expect(denied.headers.get("retry-after")).toBe("1");
    expect(denied.headers.get("ratelimit-limit")).toBe("5");
    expect(denied.headers.get("ratelimit-remaining")).toBe("0");
    const envelope = (await denied.json()) as {
      message: string;
      error: { type: string; retryable: boolean };
    };
    expect(envelope.error).toMatchObject({ type: "RATE_LIMITED", retryable: true });
    expect(envelope.message).toBe("Rate limit exceeded for tenant 'acme' (submit): retry in 1 s");

    clock.advance(1_000); // 2 tokens at 2/s
    const after = await Promise.all(
      Array.from({ length: 3 }, () => submitTo(harness!.url, key).then((r) => r.status)),
    );
    expect(after.filter((s) => s === 200)).toHaveLength(2);
  });

  it("sets RateLimit headers on every governed answer", async () => {
    harness = await startHarness({
      tenants: [{ id: "acme", limits: { ...GENEROUS_LIMITS, balance: { ratePerSec: 1, burst: 3 } } }],
    });
    const response = await fetch(`${harness.url}/api/v1/apikeys/current-balance`, {
      headers: harness.auth("acme"),
    });
    expect(response.headers.get("ratelimit-limit")).toBe("3");
    expect(response.headers.get("ratelimit-remaining")).toBe("2");
    expect(Number(response.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1);
  });

  it("shares one bucket between two gateways on one Redis", async () => {
    const limits = { ...GENEROUS_LIMITS, submit: { ratePerSec: 0.001, burst: 6 } };
    harness = await startHarness({ redisUrl: inject("redisUrl"), tenants: [{ id: "acme", limits }] });
    const store = harness.config.store;
    // The second gateway: same tenant key and the same Redis prefix.
    const other = await startGateway({ config: harness.config, logger: createLogger("silent") });
    try {
      expect(store.kind).toBe("redis");
      const urls = [harness.url, other.url];
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          submitTo(urls[i % 2]!, harness!.keys.acme!).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    } finally {
      await other.close();
    }
  });

  it("applies a per-model bucket on top of the tenant's submit bucket", async () => {
    harness = await startHarness({
      tenants: [
        {
          id: "acme",
          limits: { ...GENEROUS_LIMITS, perModel: { "nano-banana": { ratePerSec: 0.001, burst: 2 } } },
        },
      ],
    });
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () => submitTo(harness!.url, harness!.keys.acme!).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    const flux = await fetch(`${harness.url}/api/v1/generateTask/flux2`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: JSON.stringify({ input: { mode: "pro-text-to-image", prompt: "a fox" } }),
    });
    expect(flux.status).toBe(200);
  });
});

describe("when Redis goes away", () => {
  it("fails closed with 503 LIMITS_UNAVAILABLE within the timeout, and heals when Redis returns", async () => {
    redis = await startRedisServer();
    harness = await startHarness({ redisUrl: redis.url });
    const key = harness.keys.acme!;
    expect((await submitTo(harness.url, key)).status).toBe(200);
    await redis.stop();
    const down = await submitTo(harness.url, key);
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("1");
    expect(((await down.json()) as { error: { type: string } }).error.type).toBe("LIMITS_UNAVAILABLE");
    expect(harness.simulator.stats.count("generateTask")).toBe(1);
    const ready = await fetch(`${harness.url}/readyz`);
    expect(ready.status).toBe(503);

    await redis.restart();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await submitTo(harness.url, key)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await fetch(`${harness.url}/readyz`)).status).toBe(200);
  });

  it("fails open when configured: submits pass unguarded and are recorded once the store is back", async () => {
    redis = await startRedisServer();
    harness = await startHarness({ redisUrl: redis.url, config: { store: { failurePolicy: "fail-open" } } });
    await redis.stop();
    const response = await submitTo(harness.url, harness.keys.acme!);
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: { taskId: string } };
    expect(harness.simulator.stats.count("generateTask")).toBe(1);
    expect(harness.logs.lines.some((l) => l.includes('"store_unavailable"'))).toBe(true);

    // Ownership cannot be checked without the ledger: polls fail closed whatever the policy.
    const poll = (): Promise<Response> =>
      fetch(`${harness!.url}/api/v1/statusTask/nano-banana?taskId=${data.taskId}`, {
        headers: harness!.auth("acme"),
      });
    expect((await poll()).status).toBe(503);
    const balance = await fetch(`${harness.url}/api/v1/apikeys/current-balance`, {
      headers: harness.auth("acme"),
    });
    expect(balance.status).toBe(503);
    expect(harness.simulator.stats.count("statusTask")).toBe(0);
  });

  it("records and charges a task submitted unguarded (fail-open), so its owner can poll it and its cost counts", async () => {
    redis = await startRedisServer();
    harness = await startHarness({ redisUrl: redis.url, config: { store: { failurePolicy: "fail-open" } } });
    // The admission fails as in an outage, the ledger write after APIXO's answer succeeds.
    const store = harness.gateway.store;
    const admit = store.admitSubmit.bind(store);
    store.admitSubmit = () => Promise.reject(new StoreUnavailable("simulated outage during admission"));
    const response = await submitTo(harness.url, harness.keys.acme!);
    store.admitSubmit = admit;
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: { taskId: string } };
    const poll = await fetch(`${harness.url}/api/v1/statusTask/nano-banana?taskId=${data.taskId}`, {
      headers: harness.auth("acme"),
    });
    expect(poll.status).toBe(200);
    const record = await store.getTask("acme", data.taskId);
    expect(record).toMatchObject({ costMicros: 30_000, state: "success" });
    const today = new Date().toISOString().slice(0, 10);
    expect((await store.snapshot("acme", today)).spentMicros).toBe(30_000);
  });
});

describe("current-balance for a tenant", () => {
  it("answers min(cap - spent today, upstream balance) in APIXO's envelope", async () => {
    harness = await startHarness({ tenants: [{ id: "capped", dailyCapUsd: 0.1 }, { id: "free" }] });
    await submitTo(harness.url, harness.keys.capped!);
    const capped = await fetch(`${harness.url}/api/v1/apikeys/current-balance`, {
      headers: harness.auth("capped"),
    });
    expect(await capped.json()).toEqual({ code: 200, message: "success", data: 0.07 });
    const free = await fetch(`${harness.url}/api/v1/apikeys/current-balance`, {
      headers: harness.auth("free"),
    });
    const upstream = harness.simulator.balanceUsd("sk-sim-upstream-secret-0123456789");
    expect(((await free.json()) as { data: number }).data).toBeCloseTo(upstream, 6);
  });

  it("caches the upstream balance briefly instead of asking APIXO on every call", async () => {
    harness = await startHarness();
    for (let i = 0; i < 5; i++) {
      await fetch(`${harness.url}/api/v1/apikeys/current-balance`, { headers: harness.auth("acme") });
    }
    expect(harness.simulator.stats.count("balance")).toBe(1);
  });
});
