import { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { MemoryCallbackStore } from "../../src/callbacks/memoryStore.js";
import { RedisCallbackStore } from "../../src/callbacks/redisStore.js";
import type { CallbackStore } from "../../src/callbacks/store.js";
import { ManualClock } from "../../src/clock.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import { startRedisCluster, type RedisClusterHarness } from "../helpers/redisTopologies.js";

const stores: CallbackStore[] = [];
// A real 3-master cluster for the "redis cluster" cases, started by the first of them.
let cluster: Promise<RedisClusterHarness> | undefined;
afterAll(async () => {
  await (await cluster)?.stop();
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

interface Subject {
  readonly store: CallbackStore;
  /** Lets `ms` pass for the store's notion of time. */
  readonly wait: (ms: number) => Promise<void>;
}

const makers: Record<string, () => Promise<Subject>> = {
  memory: () => {
    const clock = new ManualClock();
    const store = new MemoryCallbackStore(clock);
    stores.push(store);
    return Promise.resolve({
      store,
      wait: (ms) => {
        clock.advance(ms);
        return Promise.resolve();
      },
    });
  },
  redis: () => {
    const store = new RedisCallbackStore(new Redis(inject("redisUrl")), `cbt${randomUUID().slice(0, 8)}`);
    stores.push(store);
    return Promise.resolve({ store, wait: (ms) => new Promise((r) => setTimeout(r, ms)) });
  },
  "redis cluster": async () => {
    cluster ??= startRedisCluster();
    const redis = createRedisClient((await cluster).topology, { commandTimeoutMs: 5000 });
    await waitForRedisReady(redis, 10_000);
    const store = new RedisCallbackStore(redis, `cbt${randomUUID().slice(0, 8)}`);
    stores.push(store);
    return { store, wait: (ms) => new Promise((r) => setTimeout(r, ms)) };
  },
};

const job = { id: "acme.token-1", tenantId: "acme", callbackBody: '{"code":200}' };

describe.each(Object.keys(makers))("the %s callback store", (kind) => {
  const make = makers[kind]!;

  it("keeps a route and binds it to its task", async () => {
    const { store } = await make();
    await store.saveRoute(
      { token: "acme.t", tenantId: "acme", model: "nano-banana", tenantUrl: "https://x.example" },
      60,
    );
    expect(await store.getRoute("acme", "acme.t")).toMatchObject({ tenantUrl: "https://x.example" });
    expect((await store.getRoute("acme", "acme.t"))?.taskId).toBeUndefined();
    await store.bindTask("acme", "acme.t", "task_1");
    expect(await store.getRoute("acme", "acme.t")).toMatchObject({ taskId: "task_1" });
    expect(await store.getRoute("beta", "acme.t")).toBeNull();
    await store.dropRoute("acme", "acme.t");
    expect(await store.getRoute("acme", "acme.t")).toBeNull();
  });

  it("queues one job per task however often the callback comes, also after it finished", async () => {
    const { store } = await make();
    expect(await store.enqueue(job, 60)).toBe(true);
    expect(await store.enqueue(job, 60)).toBe(false);
    const [claimed] = await store.claim(10_000, 10);
    expect(await store.finish(claimed!, "tombstone")).toBe(true);
    expect(await store.enqueue(job, 60)).toBe(false);
    expect(await store.claim(10_000, 10)).toHaveLength(0);
  });

  it("lets a forgotten job be queued again (a forged callback must not block the real one)", async () => {
    const { store } = await make();
    await store.enqueue(job, 60);
    const [claimed] = await store.claim(10_000, 10);
    await store.finish(claimed!, "forget");
    expect(await store.enqueue(job, 60)).toBe(true);
  });

  it("gives a due job to one claimer only, and to another once the lease ran out", async () => {
    const { store, wait } = await make();
    await store.enqueue(job, 60);
    const [first, second] = await Promise.all([store.claim(100, 10), store.claim(100, 10)]);
    expect(first.length + second.length).toBe(1);
    const held = (first[0] ?? second[0])!;
    await wait(150);
    const [again] = await store.claim(100, 10);
    expect(again?.id).toBe(job.id);
    // The first holder lost its lease: it can no longer move the job on.
    expect(await store.finish(held, "tombstone")).toBe(false);
    expect(await store.reschedule(held, { stage: "deliver", attempts: 1 }, 0)).toBe(false);
    expect(await store.finish(again!, "tombstone")).toBe(true);
  });

  it("keeps progress across a reschedule and makes the job due only after the delay", async () => {
    const { store, wait } = await make();
    await store.enqueue(job, 60);
    const [claimed] = await store.claim(10_000, 10);
    expect(await store.reschedule(claimed!, { stage: "deliver", attempts: 2, envelope: "{}" }, 100)).toBe(
      true,
    );
    expect(await store.claim(10_000, 10)).toHaveLength(0);
    await wait(150);
    const [due] = await store.claim(10_000, 10);
    expect(due).toMatchObject({
      id: job.id,
      stage: "deliver",
      attempts: 2,
      envelope: "{}",
      tenantId: "acme",
    });
  });
});
