/**
 * Bytes of V8 heap per task the memory store holds (reservation admitted, then recorded as a task and left in
 * flight: ledger record, task index entry, in-flight slot; with --idempotency also the idempotency record and
 * its stored answer), measured as the heap growth over N tasks after a full GC.
 *
 *   node --expose-gc --import tsx bench/recordBytes.ts [--tasks 100000] [--idempotency]
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { systemClock } from "../src/clock.js";
import { DayWindowCache } from "../src/limits/days.js";
import { MemoryStore } from "../src/limits/memory.js";

const { values: opts } = parseArgs({
  options: {
    tasks: { type: "string", default: "100000" },
    idempotency: { type: "boolean", default: false },
  },
});

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const n = Number(opts.tasks);
const store = new MemoryStore({ clock: systemClock, maxRecords: 10 * n });
const days = new DayWindowCache();
const answer = { status: 200, contentType: "application/json", body: Buffer.alloc(120, 0x20) };

async function one(): Promise<void> {
  const reservationId = randomUUID();
  const idem = opts.idempotency ? { key: `idem-${reservationId}`, ttlSec: 86_400 } : undefined;
  const decision = await store.admitSubmit({
    tenantId: "acme",
    model: "nano-banana",
    buckets: [{ name: "submit", ratePerSec: 1e6, burst: 1e6 }],
    maxInFlight: null,
    caps: [],
    attribution: {},
    costMicros: 20_000,
    days: days.get("UTC", Date.now()),
    reservationId,
    taskMaxAgeMs: 3_600_000,
    upstream: "main",
    ...(idem === undefined ? {} : { idempotency: idem }),
  });
  if (decision.kind !== "admitted") throw new Error(decision.kind);
  await store.recordTask({
    tenantId: "acme",
    // APIXO task ids are 32 hex characters.
    taskId: randomUUID().replaceAll("-", ""),
    model: "nano-banana",
    costMicros: 20_000,
    attribution: {},
    day: decision.day,
    reservationId,
    upstream: "main",
    ttlSec: 7 * 86_400,
    ...(idem === undefined ? {} : { idempotency: { ...idem, answer } }),
  });
}

await one();
gc();
const before = process.memoryUsage();
for (let i = 0; i < n; i++) await one();
gc();
const after = process.memoryUsage();
const perTask = (after.heapUsed - before.heapUsed) / n;
const external = (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / n;
process.stdout.write(
  `${n} tasks${opts.idempotency ? " with idempotency records" : ""}: ${Math.round(perTask)} bytes of heap per task` +
    ` (+${Math.round(external)} bytes outside the heap)\n`,
);
