/**
 * What one Redis primary costs the gateway, measured on the store alone (no HTTP): Redis CPU per script
 * (INFO commandstats), governed submits per second one primary takes, memory per tenant and per task record,
 * and what waiting for a replica (store.redis.replicaAcks) adds to a ledger write. docs/scaling.md quotes it.
 *
 *   npx tsx bench/redisStore.ts [--seconds 5]
 */
import { randomUUID } from "node:crypto";
import { singleRedis, type RedisTopology } from "../src/config/redis.js";
import { dayWindow } from "../src/limits/days.js";
import { RedisStore } from "../src/limits/redis.js";
import { createRedisClient, waitForRedisReady, type RedisConnection } from "../src/limits/redisClient.js";
import type { AccountLimits, BucketSpec, SubmitRequest } from "../src/limits/store.js";
import { startRedisServer } from "../test/helpers/redisServer.js";
import { startSentinelSetup } from "../test/helpers/redisTopologies.js";

const SECONDS_AT = process.argv.indexOf("--seconds");
const SECONDS = SECONDS_AT === -1 ? 5 : Number(process.argv[SECONDS_AT + 1] ?? "5");
const CONCURRENCY = 64;
const BUCKETS: readonly BucketSpec[] = [
  { name: "submit", ratePerSec: 1e6, burst: 1e6 },
  { name: "submit:flux2", ratePerSec: 1e6, burst: 1e6 },
];
// APIXO's documented account limits: 10,000 requests/minute, 1,000 concurrent tasks.
const ACCOUNT: AccountLimits = {
  upstream: "main",
  bucket: { name: "account", ratePerSec: 1e6, burst: 1e6 },
  maxInFlight: 1e9,
};

interface Bench {
  readonly redis: RedisConnection;
  readonly store: RedisStore;
}

async function open(topology: RedisTopology, acks: number): Promise<Bench> {
  const redis = createRedisClient(topology, { onError: () => undefined });
  await waitForRedisReady(redis, 10_000);
  const store = new RedisStore({
    redis,
    prefix: `bench-${randomUUID().slice(0, 8)}`,
    accountOf: () => "main",
    topology: topology.topology,
    replicaAcks: { count: acks, timeoutMs: 100 },
    silenceMs: 5_000,
  });
  return { redis, store };
}

function submitOf(tenantId: string): SubmitRequest {
  return {
    tenantId,
    model: "flux2",
    buckets: BUCKETS,
    maxInFlight: null,
    caps: [],
    attribution: {},
    costMicros: 30_000,
    days: dayWindow("UTC", Date.now()),
    reservationId: randomUUID(),
    taskMaxAgeMs: 3_600_000,
    upstream: "main",
    account: ACCOUNT,
  };
}

/** One governed submit as the gateway makes it: the admission, then the task's record (after APIXO's 200). */
async function governedSubmit(store: RedisStore, tenantId: string): Promise<void> {
  const request = submitOf(tenantId);
  const decision = await store.admitSubmit(request);
  if (decision.kind !== "admitted") throw new Error(`not admitted: ${decision.kind}`);
  await store.recordTask({
    tenantId,
    taskId: randomUUID(),
    model: "flux2",
    costMicros: request.costMicros,
    attribution: {},
    day: decision.day,
    reservationId: request.reservationId,
    upstream: "main",
    ttlSec: 3_600,
  });
}

/** Runs `work` from CONCURRENCY loops for SECONDS; operations per second and latencies (ms). */
async function drive(work: (i: number) => Promise<void>, concurrency = CONCURRENCY) {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        await work(n++);
        latencies.push(performance.now() - start);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSec: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99) };
}

/** Redis's own microseconds per call of each script kind (EVALSHA under its sha) since the last reset. */
async function scriptCpu(redis: RedisConnection): Promise<{ calls: number; usecPerCall: number }> {
  const info = await redis.info("commandstats");
  const line = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return {
    calls: Number(line?.[1] ?? 0),
    usecPerCall: Number(line?.[2] ?? 0) / Math.max(1, Number(line?.[1] ?? 0)),
  };
}

async function usedMemory(redis: RedisConnection): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
}

const fmt = (x: number, digits = 0) => x.toFixed(digits);

async function single(): Promise<void> {
  const server = await startRedisServer();
  const { redis, store } = await open(singleRedis(server.url), 0);
  try {
    await redis.config("RESETSTAT");
    const tenants = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const submits = await drive((i) => governedSubmit(store, tenants[i % tenants.length] ?? "t0"));
    const cpu = await scriptCpu(redis);
    console.log(
      `single Redis, ${CONCURRENCY} concurrent: ${fmt(submits.perSec)} governed submits/s (admission + record), ` +
        `p50 ${fmt(submits.p50, 2)} ms, p99 ${fmt(submits.p99, 2)} ms; ` +
        `Redis CPU ${fmt(cpu.usecPerCall, 1)} us per script call (${cpu.calls} calls)`,
    );
    await redis.config("RESETSTAT");
    const polls = await drive((i) =>
      store
        .admitStatus({
          tenantId: tenants[i % tenants.length] ?? "t0",
          buckets: BUCKETS,
          taskId: "x",
          account: ACCOUNT,
        })
        .then(() => undefined),
    );
    const pollCpu = await scriptCpu(redis);
    console.log(
      `single Redis, ${CONCURRENCY} concurrent: ${fmt(polls.perSec)} status admissions/s, ` +
        `Redis CPU ${fmt(pollCpu.usecPerCall, 1)} us per call`,
    );

    const beforeTenants = await usedMemory(redis);
    for (let i = 0; i < 1000; i++) await store.admitSubmit(submitOf(`mem${i}`));
    const perTenant = ((await usedMemory(redis)) - beforeTenants) / 1000;
    const beforeTasks = await usedMemory(redis);
    for (let i = 0; i < 5000; i++) await governedSubmit(store, "memtasks");
    const perTask = ((await usedMemory(redis)) - beforeTasks) / 5000;
    console.log(
      `memory: ${fmt(perTenant)} bytes per tenant (buckets, day counters, in-flight, one open reservation); ` +
        `${fmt(perTask)} bytes per task (record, index, in-flight entry)`,
    );
  } finally {
    await store.close();
    await server.stop();
  }
}

async function replicaAcks(): Promise<void> {
  const setup = await startSentinelSetup();
  try {
    for (const acks of [0, 1]) {
      const { store } = await open(setup.topology, acks);
      const one = await drive(() => governedSubmit(store, "acks"), 1);
      const many = await drive((i) => governedSubmit(store, `acks${i % 100}`));
      console.log(
        `sentinel primary + 1 replica, replicaAcks ${acks}: one at a time p50 ${fmt(one.p50, 3)} ms ` +
          `p99 ${fmt(one.p99, 3)} ms per governed submit; ${CONCURRENCY} concurrent ${fmt(many.perSec)}/s`,
      );
      await store.close();
    }
  } finally {
    await setup.stop();
  }
}

await single();
await replicaAcks();
