import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { SlotSet } from "../../src/limits/memorySlots.js";
import { StoreUnavailable, type DayWindow, type SubmitRequest } from "../../src/limits/store.js";
import { TtlMap } from "../../src/limits/ttlMap.js";
import { seedTask } from "../helpers/ledgerSeed.js";

const START = Date.UTC(2026, 10, 22, 12);
const MINUTE = 60_000;
const days: DayWindow = {
  yesterday: "2026-11-21",
  today: "2026-11-22",
  tomorrow: "2026-11-23",
  startTodayMs: START - 12 * 3_600_000,
  startTomorrowMs: START + 12 * 3_600_000,
};

function submit(over: Partial<SubmitRequest> = {}): SubmitRequest {
  return {
    tenantId: "acme",
    model: "flux2",
    buckets: [{ name: "submit", ratePerSec: 1000, burst: 1000 }],
    maxInFlight: null,
    caps: [],
    attribution: {},
    costMicros: 1000,
    days,
    reservationId: randomUUID(),
    taskMaxAgeMs: 10 * MINUTE,
    upstream: "main",
    ...over,
  };
}

/** Admits and records one task (as the gateway's submit path does); returns its task id. */
function submitTask(store: MemoryStore, over: Partial<SubmitRequest> = {}, ttlSec = 3600): Promise<string> {
  return seedTask(store, submit(over), "pending", ttlSec);
}

describe("TtlMap evicts entries at their deadline, not only when read", () => {
  it("drops an entry exactly at its TTL, mixed TTLs each at their own deadline", () => {
    const clock = new ManualClock(START);
    const map = new TtlMap<number>(clock);
    map.set("long", 1, 2000);
    map.set("short", 2, 1000);
    clock.advance(999);
    map.evictExpired();
    expect(map.size).toBe(2);
    clock.advance(1);
    map.evictExpired();
    expect(map.size).toBe(1);
    expect(map.get("short")).toBeUndefined();
    expect(map.get("long")).toBe(1);
    clock.advance(1000);
    map.set("other", 3, 5000); // a write evicts what expired
    expect(map.size).toBe(1);
  });

  it("a re-set key takes its new deadline and leaves nothing of the old one behind", () => {
    const clock = new ManualClock(START);
    const map = new TtlMap<number>(clock);
    map.set("a", 1, 1000);
    map.set("b", 2, 1000);
    clock.advance(500);
    map.set("a", 3, 1000);
    clock.advance(500);
    map.evictExpired();
    expect(map.get("b")).toBeUndefined();
    expect(map.get("a")).toBe(3);
    expect(map.size).toBe(1);
    clock.advance(500);
    map.evictExpired();
    expect(map.size).toBe(0);
  });
});

describe("SlotSet keeps admission order through renames", () => {
  it("a renamed slot keeps its time and place, so expiry from the oldest end stays exact", () => {
    const slots = new SlotSet();
    slots.add("r:1", 100, "m");
    slots.add("r:2", 200, "m");
    slots.rename("r:1", "t:1", "m");
    expect(slots.countLive(150)).toBe(1);
    expect(slots.expire(150).map((s) => s.member)).toEqual(["t:1"]);
    expect(slots.size).toBe(1);
    expect(slots.has("r:2")).toBe(true);
  });
});

describe("memory store: counts stay exact as slots expire", () => {
  it("the in-flight cap counts only slots younger than the max age, as each one ages out", async () => {
    const clock = new ManualClock(START);
    const store = new MemoryStore({ clock });
    const limited = submit({ maxInFlight: 3 });
    for (let i = 0; i < 3; i++) {
      await submitTask(store, { maxInFlight: 3 });
      clock.advance(MINUTE);
    }
    // Admitted at 0, 1 and 2 minutes; now 3 minutes. The max age is 10 minutes.
    expect(await store.admitSubmit({ ...limited, reservationId: randomUUID() })).toMatchObject({
      kind: "concurrency_limited",
      inFlight: 3,
    });
    clock.advance(7 * MINUTE); // 10 minutes: the first slot is exactly at the max age, so expired
    const admitted = await store.admitSubmit({ ...limited, reservationId: randomUUID() });
    expect(admitted).toMatchObject({ kind: "admitted" });
    if (admitted.kind === "admitted") expect(admitted.expired).toHaveLength(1);
    expect(await store.admitSubmit({ ...limited, reservationId: randomUUID() })).toMatchObject({
      kind: "concurrency_limited",
      inFlight: 3,
    });
    clock.advance(2 * MINUTE); // the slots of 1 and 2 minutes have aged out; the reservation of 10 has not
    expect(
      await store.admitSubmit({ ...limited, reservationId: randomUUID(), maxInFlight: 1 }),
    ).toMatchObject({ kind: "concurrency_limited", inFlight: 1 });
    expect((await store.sweepExpired("acme", 10 * MINUTE)).length).toBe(2);
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(1);
  });

  it("the account's in-flight cap counts exactly as its slots age out", async () => {
    const clock = new ManualClock(START);
    const store = new MemoryStore({ clock });
    const account = { upstream: "main", bucket: null, maxInFlight: 2 };
    await submitTask(store, { account });
    clock.advance(5 * MINUTE);
    await submitTask(store, { account, tenantId: "other" });
    expect(await store.admitSubmit(submit({ account }))).toMatchObject({
      kind: "account_limited",
      reason: "concurrency",
    });
    clock.advance(5 * MINUTE); // the first slot reaches the max age
    expect(await store.admitSubmit(submit({ account }))).toMatchObject({ kind: "admitted" });
  });
});

describe("memory store: bounded by TTLs and a size cap", () => {
  it("ledger records leave at their TTL: the task is gone and its room is free again", async () => {
    const clock = new ManualClock(START);
    const store = new MemoryStore({ clock, maxRecords: 2 });
    const first = await submitTask(store, {}, 60);
    await submitTask(store, {}, 120);
    expect(await store.getTask("acme", first)).not.toBeNull();
    clock.advance(60_000);
    expect(await store.getTask("acme", first)).toBeNull();
    await submitTask(store, {}, 120); // room for one: the first record was evicted
    await expect(store.admitSubmit(submit())).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it("refuses admissions when full, unsent and with nothing taken, and still answers denials", async () => {
    const clock = new ManualClock(START);
    const store = new MemoryStore({ clock, maxRecords: 3 });
    for (let i = 0; i < 3; i++) await submitTask(store);
    const before = await store.snapshot("acme", days.today);
    const refused = await store.admitSubmit(submit()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreUnavailable);
    expect((refused as StoreUnavailable).maybeApplied).toBe(false);
    expect(await store.snapshot("acme", days.today)).toEqual(before);
    // A denial is still a decision: the cap is checked only when the request would be admitted.
    expect(await store.admitSubmit(submit({ caps: [{ window: "daily", capMicros: 1 }] }))).toMatchObject({
      kind: "spend_cap",
    });
    // Recording a task APIXO already accepted is never refused (fail-open: no reservation was held).
    const recorded = await store.recordTask({
      tenantId: "acme",
      taskId: "fail-open",
      model: "flux2",
      costMicros: 1000,
      day: days.today,
      reservationId: randomUUID(),
      upstream: "main",
      ttlSec: 3600,
      attribution: {},
    });
    expect(recorded).toEqual({ recorded: true });
  });
});
