import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantRollup } from "../../src/admin/usage.js";
import type { GovernanceStore } from "../../src/limits/store.js";
import { TOKEN, envelope, openAdminApp, seedTask, snapshotOf, storeCases } from "../helpers/adminFixture.js";

const rollupOf = (res: { body: unknown }) => res.body as TenantRollup;

/** A user id a client may send (visible ASCII): JSON carries it as it is. */
const OBRIEN = 'o\'brien,"ops"';

/**
 * acme (UTC): 03-10 r1 1.50 pending alice/search, r2 2.00 success -/search, r3 0.50 failed (refunded)
 * alice/chat, r4 0.25 OBRIEN/-; 03-09 r5 0.30 bob/chat; 03-01 r6 1.00 unattributed; 02-28 r7 9.00 alice.
 * globex (Asia/Tokyo): 03-11 g1 0.80 kenji, 03-10 g2 0.10 kenji. The admin clock stands at 2026-03-10T20:00Z,
 * already 03-11 in Tokyo.
 */
async function seed(store: GovernanceStore): Promise<void> {
  await seedTask(store, "acme", "2026-03-10", "r1", "flux2", 1_500_000, "pending", {
    user: "alice",
    feature: "search",
  });
  await seedTask(store, "acme", "2026-03-10", "r2", "veo-3-1", 2_000_000, "success", { feature: "search" });
  await seedTask(store, "acme", "2026-03-10", "r3", "flux2", 500_000, "failed", {
    user: "alice",
    feature: "chat",
  });
  await seedTask(store, "acme", "2026-03-10", "r4", "flux2", 250_000, "success", { user: OBRIEN });
  await seedTask(store, "acme", "2026-03-09", "r5", "flux2", 300_000, "success", {
    user: "bob",
    feature: "chat",
  });
  await seedTask(store, "acme", "2026-03-01", "r6", "veo-3-1", 1_000_000, "success");
  await seedTask(store, "acme", "2026-02-28", "r7", "flux2", 9_000_000, "success", { user: "alice" });
  await seedTask(store, "globex", "2026-03-11", "g1", "flux2", 800_000, "pending", { user: "kenji" });
  await seedTask(store, "globex", "2026-03-10", "g2", "flux2", 100_000, "success", { user: "kenji" });
}

describe.each(storeCases)("admin API rollups by user and feature over the $name store", (storeCase) => {
  let store: GovernanceStore;
  let app: express.Express;
  const snapshot = snapshotOf(TOKEN);
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const get = (path: string) => request(app).get(path).set(auth);

  beforeAll(async () => {
    ({ store, app } = await openAdminApp(storeCase, seed, () => snapshot));
  });

  afterAll(async () => {
    await store.close();
  });

  it("needs the admin token", async () => {
    const res = await request(app).get("/admin/tenants/acme/rollup").expect(401);
    expect(envelope(res).error.type).toBe("UNAUTHENTICATED");
    await request(app).get("/admin/tenants/acme/rollup").set("Authorization", "Bearer nope").expect(401);
  });

  it("answers this month by default: net spend and tasks per user and feature, and the unattributed rest", async () => {
    const res = await get("/admin/tenants/acme/rollup").expect(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toEqual({
      tenantId: "acme",
      timeZone: "UTC",
      period: "2026-03",
      periodKind: "month",
      spentUsd: 5.05,
      byUser: {
        rows: [
          // r3's refund took its money back; the task still counts.
          { name: "alice", spentUsd: 1.5, tasks: 2 },
          { name: "bob", spentUsd: 0.3, tasks: 1 },
          { name: OBRIEN, spentUsd: 0.25, tasks: 1 },
        ],
        unattributedUsd: 3,
      },
      byFeature: {
        rows: [
          { name: "search", spentUsd: 3.5, tasks: 2 },
          { name: "chat", spentUsd: 0.3, tasks: 2 },
        ],
        unattributedUsd: 1.25,
      },
    });
  });

  it("answers one day with day=, and today with period=day", async () => {
    const expected = {
      period: "2026-03-10",
      periodKind: "day",
      spentUsd: 3.75,
      byUser: {
        rows: [
          { name: "alice", spentUsd: 1.5, tasks: 2 },
          { name: OBRIEN, spentUsd: 0.25, tasks: 1 },
        ],
        unattributedUsd: 2,
      },
      byFeature: {
        rows: [
          { name: "search", spentUsd: 3.5, tasks: 2 },
          { name: "chat", spentUsd: 0, tasks: 1 },
        ],
        unattributedUsd: 0.25,
      },
    };
    expect((await get("/admin/tenants/acme/rollup?day=2026-03-10").expect(200)).body).toMatchObject(expected);
    expect((await get("/admin/tenants/acme/rollup?period=day").expect(200)).body).toMatchObject(expected);
    const before = await get("/admin/tenants/acme/rollup?day=2026-03-09&by=user").expect(200);
    expect(rollupOf(before).byUser).toEqual({
      rows: [{ name: "bob", spentUsd: 0.3, tasks: 1 }],
      unattributedUsd: 0,
    });
  });

  it("keeps a month to its own days: February's spend is not March's", async () => {
    const february = rollupOf(await get("/admin/tenants/acme/rollup?month=2026-02").expect(200));
    expect(february).toMatchObject({ period: "2026-02", periodKind: "month", spentUsd: 9 });
    expect(february.byUser?.rows).toEqual([{ name: "alice", spentUsd: 9, tasks: 1 }]);
    expect(february.byFeature).toEqual({ rows: [], unattributedUsd: 9 });
    const empty = rollupOf(await get("/admin/tenants/acme/rollup?month=2025-03").expect(200));
    expect(empty).toMatchObject({ spentUsd: 0, byUser: { rows: [], unattributedUsd: 0 } });
  });

  it("counts today and this month in the tenant's time zone", async () => {
    const day = rollupOf(await get("/admin/tenants/globex/rollup?period=day&by=user").expect(200));
    expect(day).toMatchObject({ timeZone: "Asia/Tokyo", period: "2026-03-11", spentUsd: 0.8 });
    expect(day.byUser?.rows).toEqual([{ name: "kenji", spentUsd: 0.8, tasks: 1 }]);
    const month = rollupOf(await get("/admin/tenants/globex/rollup?by=user").expect(200));
    expect(month.byUser?.rows).toEqual([{ name: "kenji", spentUsd: 0.9, tasks: 2 }]);
  });

  it("answers one dimension with by=user or by=feature", async () => {
    const byUser = await get("/admin/tenants/acme/rollup?by=user").expect(200);
    expect(Object.keys(byUser.body as object)).toContain("byUser");
    expect(Object.keys(byUser.body as object)).not.toContain("byFeature");
    const byFeature = await get("/admin/tenants/acme/rollup?by=feature&month=2026-03").expect(200);
    expect(Object.keys(byFeature.body as object)).not.toContain("byUser");
    expect(rollupOf(byFeature).byFeature?.unattributedUsd).toBe(1.25);
  });

  it.each([
    ["day=2026-02-30", /'day' must be a calendar day, YYYY-MM-DD/],
    ["day=2026-3-10", /'day'/],
    ["day=today", /'day'/],
    ["month=2026-13", /'month' must be a calendar month, YYYY-MM/],
    ["month=2026-3", /'month'/],
    ["month=2026-03-01", /'month'/],
    ["period=week", /'period' must be 'day' or 'month'/],
    ["by=team", /'by' must be 'user' or 'feature'/],
    ["by=user&by=feature", /'by' may be given once/],
    ["day=2026-03-10&day=2026-03-09", /'day' may be given once/],
    ["day=2026-03-10&month=2026-03", /at most one of 'day', 'month' and 'period'/],
    ["month=2026-03&period=month", /at most one/],
  ])("refuses %s with 400 in the envelope", async (query, message) => {
    const res = await get(`/admin/tenants/acme/rollup?${query}`).expect(400);
    expect(res.body).toMatchObject({ code: 400, data: null, error: { type: "INVALID_REQUEST" } });
    expect(envelope(res).message).toMatch(message);
  });

  it("answers 404 for a tenant not in config", async () => {
    const res = await get("/admin/tenants/nobody/rollup").expect(404);
    expect(envelope(res).message).toContain("nobody");
  });
});
