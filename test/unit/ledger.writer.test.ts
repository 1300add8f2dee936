import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

function setup(options: { readonly journalPath?: string; readonly answersOnSend?: boolean } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 12));
  const memory = new MemoryStore({ clock });
  let down = false;
  const applied: string[] = [];
  // The memory store behind a switch: while `down`, every ledger write is refused as an outage would.
  // While set, recordTasks waits for it before the store applies anything: a store slow to answer.
  let held: Promise<void> | undefined;
  const store = new Proxy(memory, {
    get(target, name, receiver) {
      if (name === "answersOnSend") return options.answersOnSend ?? target.answersOnSend;
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (name === "recordTasks" && held !== undefined) await held;
        if (down) throw new StoreUnavailable("store down");
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
    path: options.journalPath,
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
    holdRecords: (): (() => void) => {
      let release = (): void => undefined;
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
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
    await writer.record(record("t1"));
    await writer.idle();
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "pending", costMicros: 500 });
  });

  it("sends the records of one event-loop turn to the store as one call, each recorded once", async () => {
    const { writer, memory, applied } = setup();
    await Promise.all([
      writer.record(record("t1")),
      writer.record(record("t2")),
      writer.record(record("t3")),
    ]);
    await writer.idle();
    await writer.record(record("t4"));
    await writer.idle();
    expect(applied).toEqual(["recordTasks", "recordTasks"]);
    for (const id of ["t1", "t2", "t3", "t4"]) {
      expect(await memory.getTask("acme", id)).toMatchObject({ state: "pending", costMicros: 500 });
    }
  });

  it("lets the submit go on once its record is sent, before the store has answered", async () => {
    const { writer, memory, holdRecords } = setup();
    const release = holdRecords();
    let sent = false;
    const recording = writer.record(record("t1")).then(() => {
      sent = true;
    });
    await recording;
    expect(sent).toBe(true);
    // Sent, not yet applied: the store has not answered.
    expect(await memory.getTask("acme", "t1")).toBeNull();
    release();
    await writer.idle();
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "pending" });
  });

  /** The submit's wait ends only once the held store call has applied the record. */
  async function waitsForTheStore(options: Parameters<typeof setup>[0]): Promise<void> {
    const { writer, memory, holdRecords } = setup(options);
    const release = holdRecords();
    let done = false;
    const recording = writer.record(record("t1")).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    release();
    await recording;
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "pending" });
  }

  it("with a journal file, lets the submit go on only once the store applied its record", async () => {
    const dir = mkdtempSync(join(tmpdir(), "writer-"));
    try {
      await waitsForTheStore({ journalPath: join(dir, "journal") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with a store that does not answer on send (replica acks), lets the submit go on once its record is applied", async () => {
    await waitsForTheStore({ answersOnSend: false });
  });

  it("with a journal file, has a record the store could not take in the file before the submit goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "writer-"));
    try {
      const path = join(dir, "journal");
      const { writer, setDown, holdRecords } = setup({ journalPath: path });
      setDown(true);
      // The store takes a while to fail (a stall until the silence timeout).
      setTimeout(holdRecords(), 20);
      await writer.record(record("t1"));
      expect(readFileSync(path, "utf8")).toContain('"taskId":"t1"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("waits at shutdown for records sent and not yet answered", async () => {
    const { writer, memory, holdRecords } = setup();
    const release = holdRecords();
    await writer.record(record("t1"));
    const flushed = writer.flush(1000);
    setTimeout(release, 5);
    await flushed;
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "pending" });
  });

  it("keeps writes while the store is down and applies them in order when it is back, once each", async () => {
    const { writer, memory, journal, setDown, finished } = setup();
    setDown(true);
    await writer.record(record("t1"));
    await writer.idle();
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

  it("keeps every record of a batch the store could not take, in order, and applies each once", async () => {
    const { writer, memory, journal, setDown } = setup();
    setDown(true);
    await Promise.all([writer.record(record("t1")), writer.record(record("t2"))]);
    await writer.idle();
    expect(journal.size).toBe(2);
    expect(journal.peek()).toMatchObject({ kind: "record", task: { taskId: "t1" } });
    setDown(false);
    await drained(journal);
    expect(await memory.getTask("acme", "t1")).toMatchObject({ state: "pending" });
    expect(await memory.getTask("acme", "t2")).toMatchObject({ state: "pending" });
    expect((await memory.spendOfDays("acme", [DAY]))[0]?.spentMicros).toBe(1000);
  });

  it("queues a write behind the journal even when the store answers, so it never overtakes an older one", async () => {
    const { writer, journal, setDown, applied } = setup();
    setDown(true);
    await writer.record(record("t1"));
    await writer.idle();
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
