import { describe, expect, it } from "vitest";
import { OrphanSweeper } from "../../src/ledger/sweeper.js";
import type { ReservationRecord } from "../../src/limits/store.js";
import { noEvents } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";

/** The sweep's month reconcile: once per tenant and process, retried until the store answers. */
describe("orphan sweeper's month reconcile", () => {
  it("reconciles each tenant once, retrying a tenant whose reconcile failed at the next pass", async () => {
    const calls: string[] = [];
    let failGlobex = true;
    const sweeper = new OrphanSweeper({
      store: { markOrphans: () => Promise.resolve([] as ReservationRecord[]) },
      events: noEvents,
      logger: createLogger("silent"),
      reconcile: (tenant) => {
        calls.push(tenant);
        if (tenant === "globex" && failGlobex) return Promise.reject(new Error("store down"));
        return Promise.resolve();
      },
      settings: () => ({ tenants: ["acme", "globex"], intervalMs: 0, orphanAfterMs: 60_000 }),
    });
    await sweeper.sweep();
    expect(calls).toEqual(["acme", "globex"]);
    failGlobex = false;
    await sweeper.sweep();
    await sweeper.sweep();
    expect(calls).toEqual(["acme", "globex", "globex"]);
  });
});
