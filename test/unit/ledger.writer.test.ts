import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { Journal } from "../../src/ledger/journal.js";
import { LedgerWriter } from "../../src/ledger/writer.js";
import type { LedgerWrite } from "../../src/ledger/writes.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { StoreUnavailable, type Ledger } from "../../src/limits/store.js";
import { noEvents, type GatewayEvents } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";

const DAY = "2026-12-01";

function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 12));
  const memory = new MemoryStore({ clock });
  let down = false;
  const applied: string[] = [];
  // The memory store behind a switch: while `down`, every ledger write is refused as an outage would.
  const store = new Proxy(memory, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new StoreUnavailable("store down"));
        applied.push(String(name));
        return Reflect.apply(value, target, args) as unknown;
      };
    },
  }) as unknown as Ledger;
  const finished: string[] = [];
  const events: GatewayEvents = {
    ...noEvents,
    taskFinished: (e) => finished.push(`${e.state} ${e.refundedMicros}`),
  };
  const drops = { count: 0 };
  const journal = new Journal({
    maxEntries: 100,
    path: undefined,
    onChange: (_depth, dropped) => {
      drops.count += dropped;
    },
  });
  const writer = new LedgerWriter({
    store,
    journal,
    events,
    clock,
    logger: createLogger("silent"),
    observe: (_operation, call) => call(),
    sleep: () => new Promise((resolve) => setTimeout(resolve, 1)),
  });
  return {
    memory,
    writer,
    journal,
    applied,
    finished,
    drops,
    setDown: (value: boolean) => {
      down = value;
    },
  };
}

const record = (taskId: string): Extract<LedgerWrite, { kind: "record" }> => ({
  kind: "record",
  task: {
    tenantId: "acme",
    taskId,
    model: "flux2",
    costMicros: 500,
    day: DAY,
    reservationId: `r-${taskId}`,
    upstream: "main",
    ttlSec: 3600,
    attribution: {},
  },
});
const settle = (taskId: string): Extract<LedgerWrite, { kind: "settle" }> => ({
  kind: "settle",
  settle: { tenantId: "acme", taskId, state: "failed", refund: true },
  report: { tenant: "acme", model: "flux2", costTimeMs: undefined },
});

async function drained(journal: Journal): Promise<void> {
  for (let i = 0; i < 500 && journal.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(journal.size).toBe(0);
}

describe("the ledger writer", () => {
  it("applies a write at once while the store answers", async () => {
    const { writer, memory } = setup();
    expect(await writer.record(record("t1"))).toEqual({ applied: true, result: { recorded: true } });
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "pending", costMicros: 500 });
  });

  it("keeps writes while the store is down and applies them in order when it is back, once each", async () => {
    const { writer, memory, journal, setDown, finished } = setup();
    setDown(true);
    expect(await writer.record(record("t1"))).toEqual({ applied: false });
    expect(await writer.settle(settle("t1"))).toEqual({ applied: false });
    expect(journal.size).toBe(2);
    expect(finished).toEqual([]);
    setDown(false);
    await drained(journal);
    // The settle found the record its write came after: refunded once, and reported when it happened.
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "failed", refundedMicros: 500 });
    expect((await memory.spendOfDays("acme", [DAY]))[0]?.spentMicros).toBe(0);
    expect(finished).toEqual(["failed 500"]);
  });

  it("queues a write behind the journal even when the store answers, so it never overtakes an older one", async () => {
    const { writer, journal, setDown, applied } = setup();
    setDown(true);
    await writer.record(record("t1"));
    setDown(false);
    // The store answers again, but the record is still in the journal: the settle must wait its turn.
    expect(await writer.settle(settle("t1"))).toEqual({ applied: false });
    await drained(journal);
    expect(applied).toEqual(["recordTask", "settleTask"]);
  });

  it("drops (and counts) a write the store refuses as wrong, and goes on with the next", async () => {
    const { writer, memory, drops } = setup();
    const refused = await writer.settle({
      ...settle("t0"),
      settle: { tenantId: "acme", taskId: "t0", state: "failed", refund: true, day: "1999-01-01" },
    });
    // Not recorded: nothing to settle, so the memory store answers without complaint.
    expect(refused).toMatchObject({ applied: true });
    await writer.record(record("t2"));
    const wrongDay = await writer.settle({
      ...settle("t2"),
      settle: { tenantId: "acme", taskId: "t2", state: "failed", refund: true, day: "1999-01-01" },
    });
    expect(wrongDay).toEqual({ applied: false });
    expect(drops.count).toBe(1);
    expect(await memory.getTask("acme", "t2")).toMatchObject({ state: "pending" });
  });
});
