/**
 * The growth run: CPU per governed submit (admitSubmit + recordTask, what the gateway's submit path asks of its
 * store) as the tasks in flight grow, for the memory store and the Redis store. Tasks are never settled, as
 * in production while they run (they stay in flight up to taskMaxAgeMinutes); a few polls and settles of
 * finished tasks are measured at each step too. Store-level and in-process: no HTTP, so the figure is the
 * store's own cost (for Redis: the client's CPU here plus Redis's CPU, read from /proc).
 *
 *   npm run bench -- --growth [--max 100000] [--sample 500] [--stores memory,redis]
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { systemClock } from "../src/clock.js";
import { DayWindowCache } from "../src/limits/days.js";
import { MemoryStore } from "../src/limits/memory.js";
import { RedisStore } from "../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../src/limits/redisClient.js";
import type { GovernanceStore, SubmitRequest } from "../src/limits/store.js";
import { cpuMicros, RESULTS_DIR, startRedis } from "./procs.js";

const { values: opts } = parseArgs({
  options: {
    growth: { type: "boolean", default: true },
    max: { type: "string", default: "100000" },
    sample: { type: "string", default: "500" },
    stores: { type: "string", default: "memory,redis" },
  },
});

const TENANT = "growth";
const BIG = { ratePerSec: 1_000_000, burst: 1_000_000 };
const days = new DayWindowCache();

function submit(reservationId: string): SubmitRequest {
  return {
    tenantId: TENANT,
    model: "nano-banana",
    buckets: [{ name: "submit", ...BIG }],
    maxInFlight: 10_000_000,
    caps: [{ window: "daily", capMicros: 1e15 }],
    attribution: {},
    costMicros: 20_000,
    days: days.get("UTC", Date.now()),
    reservationId,
    taskMaxAgeMs: 3_600_000,
    idempotency: { key: reservationId, ttlSec: 86_400 },
    account: { upstream: "main", bucket: { name: "account", ...BIG }, maxInFlight: 10_000_000 },
    upstream: "main",
  };
}

/** One submit as the gateway does it: the admission, then the task recorded under the id APIXO gave. */
async function oneSubmit(store: GovernanceStore): Promise<string> {
  const reservationId = randomUUID();
  const decision = await store.admitSubmit(submit(reservationId));
  if (decision.kind !== "admitted") throw new Error(`not admitted: ${decision.kind}`);
  const taskId = `task-${reservationId}`;
  await store.recordTask({
    tenantId: TENANT,
    taskId,
    model: "nano-banana",
    costMicros: 20_000,
    attribution: {},
    day: decision.day,
    reservationId,
    upstream: "main",
    ttlSec: 7 * 86_400,
    idempotency: {
      key: reservationId,
      ttlSec: 86_400,
      answer: { status: 200, contentType: "application/json", body: Buffer.from(`{"taskId":"${taskId}"}`) },
    },
  });
  return taskId;
}

/** A poll that sees the task finished and settles it (the poll mix's last poll). */
async function pollAndSettle(store: GovernanceStore, taskId: string): Promise<void> {
  await store.admitStatus({ tenantId: TENANT, buckets: [{ name: "status", ...BIG }], taskId });
  await store.settleTask({ tenantId: TENANT, taskId, state: "success", refund: false });
}

interface Step {
  readonly inFlight: number;
  readonly submitUs: number;
  readonly pollSettleUs: number;
  readonly heapMB: number;
}

function cpuNow(redisPid: number | undefined): number {
  const own = process.cpuUsage();
  return own.user + own.system + (redisPid === undefined ? 0 : cpuMicros(redisPid));
}

async function grow(name: string, store: GovernanceStore, redisPid: number | undefined): Promise<Step[]> {
  const max = Number(opts.max);
  const sample = Number(opts.sample);
  const checkpoints = [0, 1_000, 10_000, 30_000, 100_000, 300_000, 1_000_000].filter((n) => n <= max);
  const steps: Step[] = [];
  let inFlight = 0;
  for (const target of checkpoints) {
    while (inFlight < target) {
      await oneSubmit(store);
      inFlight += 1;
    }
    // Measured: `sample` submits that stay in flight, then `sample` polls that settle tasks submitted now.
    let before = cpuNow(redisPid);
    const fresh: string[] = [];
    for (let i = 0; i < sample; i++) fresh.push(await oneSubmit(store));
    const submitUs = (cpuNow(redisPid) - before) / sample;
    before = cpuNow(redisPid);
    for (const taskId of fresh) await pollAndSettle(store, taskId);
    const pollSettleUs = (cpuNow(redisPid) - before) / sample;
    const heapMB = Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
    const step = {
      inFlight: target,
      submitUs: Math.round(submitUs),
      pollSettleUs: Math.round(pollSettleUs),
      heapMB,
    };
    steps.push(step);
    process.stdout.write(`[${name}] ${JSON.stringify(step)}\n`);
  }
  return steps;
}

async function main(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stores = opts.stores.split(",");
  const results: Record<string, Step[]> = {};
  if (stores.includes("memory")) {
    results.memory = await grow("memory", new MemoryStore({ clock: systemClock }), undefined);
  }
  if (stores.includes("redis")) {
    const redis = await startRedis();
    const client = createRedisClient(redis.url, { commandTimeoutMs: 5000 });
    try {
      await waitForRedisReady(client, 5000);
      const store = new RedisStore({
        redis: client,
        prefix: `growth-${Date.now()}`,
        accountOf: () => "main",
      });
      results.redis = await grow("redis", store, redis.proc.pid);
      await store.close();
    } finally {
      await redis.proc.stop();
    }
  }
  const stamp = new Date().toISOString().replaceAll(":", "-").replace(/\..*/, "");
  const file = resolve(RESULTS_DIR, `${stamp}-growth.json`);
  writeFileSync(file, JSON.stringify({ options: opts, results }, null, 2));
  process.stdout.write(
    `\n| in flight | ${stores.map((s) => `${s} submit us | ${s} poll+settle us`).join(" | ")} |\n`,
  );
  for (const [i, step] of (results[stores[0] ?? ""] ?? []).entries()) {
    const cells = stores.map((s) => {
      const r = results[s]?.[i];
      return `${r?.submitUs ?? "-"} | ${r?.pollSettleUs ?? "-"}`;
    });
    process.stdout.write(`| ${step.inFlight} | ${cells.join(" | ")} |\n`);
  }
  process.stdout.write(`JSON: ${file}\n`);
}

await main();
