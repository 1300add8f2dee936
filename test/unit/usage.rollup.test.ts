import { describe, expect, it } from "vitest";
import { listTenantUsage, tenantRollup, type UsageDeps } from "../../src/admin/usage.js";
import { ManualClock } from "../../src/clock.js";
import { configSchema } from "../../src/config/schema.js";
import { dayWindow } from "../../src/limits/days.js";
import { MemoryStore } from "../../src/limits/memory.js";
import type { Attribution } from "../../src/limits/store.js";
import { hashGatewayKey } from "../../src/tenants/keys.js";
import { buildSnapshot } from "../../src/tenants/snapshot.js";
import { seedOpen, seedReleased, seedTask, seedUnknown, submitOf } from "../helpers/ledgerSeed.js";

const DAY_MS = 86_400_000;
/** 2026-03-31T15:30Z: still March 31 in UTC, already April 1 in Tokyo. */
const NOW = Date.UTC(2026, 2, 31, 15, 30);

/** The store's and the views' clock starts at `startMs` and only moves forward. */
function setup(startMs = NOW) {
  const clock = new ManualClock(startMs);
  const store = new MemoryStore({ clock });
  const config = configSchema.parse({
    upstream: { keys: [{ alias: "main", key: "sk-test" }] },
    tenants: [
      {
        id: "acme",
        upstreamKey: "main",
        keys: [{ hash: hashGatewayKey("agw_acme") }],
        dailyCapUsd: 10,
        monthlyCapUsd: 5,
      },
      { id: "tokyo", upstreamKey: "main", timeZone: "Asia/Tokyo", keys: [{ hash: hashGatewayKey("agw_t") }] },
    ],
  });
  const deps: UsageDeps = { store, snapshot: buildSnapshot(config, NOW), clock };

  /**
   * One submit as the route makes it, at the clock's instant in the tenant's zone: admitted with its
   * attribution, then charged to a task (pending, success, or failed and refunded) or released (APIXO said no).
   */
  const spend = async (
    costMicros: number,
    attribution: Attribution,
    outcome: "open" | "unknown" | "pending" | "success" | "failed" | "released" = "success",
    tenantId = "acme",
    timeZone = "UTC",
  ): Promise<void> => {
    const request = submitOf(tenantId, { costMicros, attribution, days: dayWindow(timeZone, clock.now()) });
    if (outcome === "open") await seedOpen(store, request);
    else if (outcome === "unknown") await seedUnknown(store, request);
    else if (outcome === "released") await seedReleased(store, request);
    else await seedTask(store, request, outcome);
  };
  return { clock, store, deps, spend };
}

describe("usage rollups by user and feature", () => {
  it("answers each user's and feature's net spend and tasks, highest first, and the unattributed rest of the total", async () => {
    const { deps, spend } = setup();
    await spend(1_000_000, { user: "alice", feature: "search" });
    await spend(500_000, { user: "alice", feature: "chat" }, "failed");
    await spend(2_000_000, { user: "bob" }, "pending");
    await spend(250_000, {});
    await spend(750_000, { feature: "chat" });

    const rollup = await tenantRollup(deps, "acme", { kind: "month", name: "2026-03" });
    expect(rollup).toEqual({
      tenantId: "acme",
      timeZone: "UTC",
      period: "2026-03",
      periodKind: "month",
      spentUsd: 4,
      byUser: {
        rows: [
          { name: "bob", spentUsd: 2, tasks: 1 },
          // The refunded task still counts as a task, its money does not.
          { name: "alice", spentUsd: 1, tasks: 2 },
        ],
        unattributedUsd: 1,
      },
      byFeature: {
        rows: [
          { name: "search", spentUsd: 1, tasks: 1 },
          { name: "chat", spentUsd: 0.75, tasks: 2 },
        ],
        unattributedUsd: 2.25,
      },
    });
  });

  it("keeps a day's rollup to that day and a month's to its days, and orders equal spend by name", async () => {
    const { clock, deps, spend } = setup(NOW - 31 * DAY_MS); // 2026-02-28
    await spend(5_000_000, { user: "dave" });
    clock.advance(30 * DAY_MS); // 2026-03-30
    await spend(300_000, { user: "bob" });
    await spend(100_000, { user: "carol" });
    clock.advance(DAY_MS); // 2026-03-31
    await spend(300_000, { user: "carol" });

    const day = await tenantRollup(deps, "acme", { kind: "day", name: "2026-03-30" }, "user");
    expect(day?.spentUsd).toBe(0.4);
    expect(day?.byUser?.rows).toEqual([
      { name: "bob", spentUsd: 0.3, tasks: 1 },
      { name: "carol", spentUsd: 0.1, tasks: 1 },
    ]);
    const month = await tenantRollup(deps, "acme", { kind: "month", name: "2026-03" }, "user");
    expect(month?.spentUsd).toBe(0.7);
    expect(month?.byUser?.rows).toEqual([
      { name: "carol", spentUsd: 0.4, tasks: 2 },
      { name: "bob", spentUsd: 0.3, tasks: 1 },
    ]);
    expect(month?.byUser?.unattributedUsd).toBe(0);
    const february = await tenantRollup(deps, "acme", { kind: "month", name: "2026-02" }, "user");
    expect(february?.byUser?.rows.map((r) => r.name)).toEqual(["dave"]);
  });

  it("defaults to the tenant's own today and this month in its time zone", async () => {
    const { deps, spend } = setup();
    // At NOW Tokyo is on 2026-04-01 while UTC is on 2026-03-31.
    await spend(200_000, { user: "kenji" }, "success", "tokyo", "Asia/Tokyo");
    await spend(100_000, { user: "alice" });

    const tokyoDay = await tenantRollup(deps, "tokyo", { kind: "day" });
    expect(tokyoDay).toMatchObject({ period: "2026-04-01", periodKind: "day", timeZone: "Asia/Tokyo" });
    expect(tokyoDay?.byUser?.rows).toEqual([{ name: "kenji", spentUsd: 0.2, tasks: 1 }]);
    const tokyoMonth = await tenantRollup(deps, "tokyo", { kind: "month" });
    expect(tokyoMonth).toMatchObject({ period: "2026-04", spentUsd: 0.2 });
    const acmeMonth = await tenantRollup(deps, "acme", { kind: "month" });
    expect(acmeMonth).toMatchObject({ period: "2026-03", spentUsd: 0.1 });
  });

  it("leaves no row for a submit APIXO refused (reserved, then released)", async () => {
    const { deps, spend } = setup();
    await spend(400_000, { user: "erin", feature: "draw" }, "released");
    await spend(100_000, { user: "alice" });
    const rollup = await tenantRollup(deps, "acme", { kind: "day", name: "2026-03-31" });
    expect(rollup?.spentUsd).toBe(0.1);
    expect(rollup?.byUser?.rows).toEqual([{ name: "alice", spentUsd: 0.1, tasks: 1 }]);
    expect(rollup?.byFeature).toEqual({ rows: [], unattributedUsd: 0.1 });
  });

  it("counts a submit in progress and an unknown outcome, as the caps do", async () => {
    const { deps, spend } = setup();
    await spend(100_000, { user: "alice" }, "open");
    await spend(200_000, { user: "alice", feature: "draw" }, "unknown");
    const rollup = await tenantRollup(deps, "acme", { kind: "day" });
    expect(rollup?.byUser?.rows).toEqual([{ name: "alice", spentUsd: 0.3, tasks: 2 }]);
    expect(rollup?.byFeature?.rows).toEqual([{ name: "draw", spentUsd: 0.2, tasks: 1 }]);
  });

  it("keeps a day's rollup 40 days and a month's 400 days", async () => {
    const { clock, deps, spend } = setup();
    await spend(100_000, { user: "alice" });
    const users = async (kind: "day" | "month", name: string) =>
      (await tenantRollup(deps, "acme", { kind, name }))?.byUser?.rows.map((r) => r.name);
    clock.advance(40 * DAY_MS - 1);
    expect(await users("day", "2026-03-31")).toEqual(["alice"]);
    clock.advance(1);
    expect(await users("day", "2026-03-31")).toEqual([]);
    expect(await users("month", "2026-03")).toEqual(["alice"]);
    clock.advance(360 * DAY_MS);
    expect(await users("month", "2026-03")).toEqual([]);
  });

  it("answers one dimension when asked by user or by feature", async () => {
    const { deps, spend } = setup();
    await spend(100_000, { user: "alice", feature: "search" });
    const byUser = await tenantRollup(deps, "acme", { kind: "month" }, "user");
    expect(byUser).toHaveProperty("byUser");
    expect(byUser).not.toHaveProperty("byFeature");
    const byFeature = await tenantRollup(deps, "acme", { kind: "month" }, "feature");
    expect(byFeature).not.toHaveProperty("byUser");
    expect(byFeature?.byFeature?.rows).toEqual([{ name: "search", spentUsd: 0.1, tasks: 1 }]);
  });

  it("answers null for a tenant not in config and refuses a period that is not a calendar day or month", async () => {
    const { deps } = setup();
    expect(await tenantRollup(deps, "nobody", { kind: "month" })).toBeNull();
    for (const name of ["2026-02-30", "2026-3-01", "2026-03"]) {
      await expect(tenantRollup(deps, "acme", { kind: "day", name })).rejects.toThrow(RangeError);
    }
    for (const name of ["2026-13", "2026-00", "2026-3", "2026-03-01"]) {
      await expect(tenantRollup(deps, "acme", { kind: "month", name })).rejects.toThrow(RangeError);
    }
  });
});

describe("tenant usage rows", () => {
  it("carry this month's spend, the monthly cap and what is left of it (never below 0)", async () => {
    const { clock, deps, spend } = setup(NOW - DAY_MS); // 2026-03-30
    await spend(3_000_000, { user: "alice" });
    clock.advance(DAY_MS); // 2026-03-31
    await spend(2_500_000, {});

    const rows = await listTenantUsage(deps);
    expect(rows[0]).toMatchObject({
      tenantId: "acme",
      day: "2026-03-31",
      spentUsd: 2.5,
      capUsd: 10,
      remainingUsd: 7.5,
      month: "2026-03",
      monthSpentUsd: 5.5,
      monthlyCapUsd: 5,
      monthRemainingUsd: 0,
    });
    expect(rows[1]).toMatchObject({
      tenantId: "tokyo",
      day: "2026-04-01",
      month: "2026-04",
      monthSpentUsd: 0,
      monthlyCapUsd: null,
      monthRemainingUsd: null,
    });
  });
});
