import { describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../src/clock.js";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import { dayWindow } from "../../src/limits/days.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { StoreUnavailable } from "../../src/limits/store.js";
import { eventually } from "../helpers/callbackHarness.js";
import { metric, parseSamples, scrape, submit, valueOf, telemetryFixture } from "../helpers/telemetry.js";

/**
 * The money-path metrics the alerts and dashboards read (docs/observability.md, docs/runbooks.md): each one
 * moves when, and only when, the thing it reports happens.
 */
const fx = telemetryFixture();
const { keys } = fx;
const gateway = fx.gateway.bind(fx);

async function samples(gw: RunningGateway) {
  return parseSamples(await scrape(gw));
}

describe("reservations by fate", () => {
  it("counts each submit's reservation once: charged, released, or unknown (and held as unknown)", async () => {
    const gw = await gateway({});
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(200);
    fx.sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "status", status: 400 } });
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(400);
    fx.sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(502);
    // Refused before anything was reserved: no fate at all.
    expect((await submit(gw, keys.acme, "midjourney")).status).toBe(403);

    const s = await samples(gw);
    const fate = (f: string) => valueOf(s, metric("reservations_total"), { tenant: "acme", fate: f });
    expect([fate("charged"), fate("released"), fate("unknown")]).toEqual([1, 1, 1]);
    expect(valueOf(s, metric("reservations_unknown"), { tenant: "acme" })).toBe(1);
    expect(valueOf(s, metric("reservations_unknown"), { tenant: "beta" })).toBe(0);
  });
});

describe("load shedding", () => {
  it("counts a shed submit as rejections_total{reason=overloaded}, with nothing reserved", async () => {
    const store = new MemoryStore({ clock: systemClock });
    const admit = store.admitSubmit.bind(store);
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let admitting: () => void = () => undefined;
    const admitted = new Promise<void>((resolve) => {
      admitting = resolve;
    });
    // The first admission waits in the store, so the one after it finds the gate full.
    store.admitSubmit = async (request) => {
      admitting();
      await held;
      return admit(request);
    };
    const gw = await gateway({ gateway: { store }, store: { maxConcurrentCalls: 1, maxQueuedCalls: 0 } });

    const first = submit(gw, keys.acme, "nano-banana");
    await admitted;
    const shed = await submit(gw, keys.acme, "nano-banana");
    letGo();
    expect(shed.status).toBe(503);
    expect((shed.body.error as { type?: string } | undefined)?.type).toBe("OVERLOADED");
    expect((await first).status).toBe(200);

    const s = await samples(gw);
    expect(valueOf(s, metric("rejections_total"), { tenant: "acme", reason: "overloaded" })).toBe(1);
    expect(valueOf(s, metric("reservations_total"), { tenant: "acme", fate: "charged" })).toBe(1);
    expect(valueOf(s, metric("reservations_total"), { tenant: "acme", fate: "released" })).toBeUndefined();
  });
});

describe("ledger journal", () => {
  it("shows its depth while the store refuses ledger writes, and 0 once they are replayed", async () => {
    const store = new MemoryStore({ clock: systemClock });
    const record = store.recordTask.bind(store);
    let down = true;
    store.recordTask = (task) =>
      down ? Promise.reject(new StoreUnavailable("store is down", { maybeApplied: false })) : record(task);
    const gw = await gateway({ gateway: { store } });
    expect(valueOf(await samples(gw), metric("ledger_journal_depth"))).toBe(0);

    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(200);
    let s = await samples(gw);
    expect(valueOf(s, metric("ledger_journal_depth"))).toBe(1);
    expect(valueOf(s, metric("ledger_journal_dropped_total"))).toBe(0);

    down = false;
    await eventually(async () => valueOf(await samples(gw), metric("ledger_journal_depth")) === 0);
    s = await samples(gw);
    expect(valueOf(s, metric("ledger_journal_dropped_total"))).toBe(0);
  });

  it("counts a write the full journal cannot keep as dropped", async () => {
    const store = new MemoryStore({ clock: systemClock });
    const record = store.recordTask.bind(store);
    let down = true;
    store.recordTask = (task) =>
      down ? Promise.reject(new StoreUnavailable("store is down", { maybeApplied: false })) : record(task);
    const gw = await gateway({ gateway: { store }, store: { journal: { maxEntries: 1 } } });
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(200);
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(200);
    const s = await samples(gw);
    expect(valueOf(s, metric("ledger_journal_depth"))).toBe(1);
    expect(valueOf(s, metric("ledger_journal_dropped_total"))).toBe(1);

    // Once the store is back the journal drains; what was dropped stays counted.
    down = false;
    await eventually(async () => valueOf(await samples(gw), metric("ledger_journal_depth")) === 0);
    expect(valueOf(await samples(gw), metric("ledger_journal_dropped_total"))).toBe(1);
  });
});

describe("orphans", () => {
  it("counts reservations nobody settled, found by the sweep, per tenant, and holds them as unknown", async () => {
    const clock = new ManualClock(Date.now());
    const store = new MemoryStore({ clock });
    const gw = await gateway({ gateway: { store }, governance: { orphanSweepSeconds: 0.02 } });
    // A gateway that admitted this submit and died before settling it.
    const admission = await store.admitSubmit({
      tenantId: "acme",
      model: "nano-banana",
      buckets: [],
      maxInFlight: null,
      caps: [],
      attribution: {},
      costMicros: 30_000,
      days: dayWindow("UTC", clock.now()),
      reservationId: "res-orphan-1",
      taskMaxAgeMs: 3_600_000,
      upstream: "main",
    });
    expect(admission.kind).toBe("admitted");
    expect(valueOf(await samples(gw), metric("ledger_orphans_total"), { tenant: "acme" })).toBeUndefined();

    // Past the upstream timeout (30 s default) plus the sweep's margin: nothing can still settle it.
    clock.advance(120_000);
    await eventually(
      async () => valueOf(await samples(gw), metric("ledger_orphans_total"), { tenant: "acme" }) === 1,
    );
    // The store gauges of scrapes less than 500 ms apart share one read: wait for a fresh one.
    await eventually(
      async () => valueOf(await samples(gw), metric("reservations_unknown"), { tenant: "acme" }) === 1,
    );
    const s = await samples(gw);
    expect(valueOf(s, metric("ledger_orphans_total"), { tenant: "acme" })).toBe(1);
    expect(valueOf(s, metric("ledger_orphans_total"), { tenant: "beta" })).toBeUndefined();
  });
});
