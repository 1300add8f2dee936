import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminTokenMatches } from "../../src/admin/router.js";
import type { GovernanceStore } from "../../src/limits/store.js";
import type { TaskView, TenantHistory, TenantUsageRow } from "../../src/admin/usage.js";
import { TOKEN, envelope, openAdminApp, seedTask, snapshotOf, storeCases } from "../helpers/adminFixture.js";

/** supertest types every body as `any`: name what each answer is instead. */
const history = (res: { body: unknown }) => res.body as TenantHistory;
const tenantList = (res: { body: unknown }) => res.body as { asOf: string; tenants: TenantUsageRow[] };
const task = (res: { body: unknown }) => res.body as TaskView;

/**
 * acme (UTC, cap $10): 03-10 t1 flux2 1.50 pending, t2 veo-3-1 2.00 success, t3 flux2 0.50 failed (refunded);
 * 03-09 t4 flux2 0.25; 03-07 t5 veo-3-1 1.00. globex (Asia/Tokyo, no cap, disabled): 03-11 g1 flux2 0.80
 * pending; 03-10 g2 flux2 0.10. The admin clock stands at 2026-03-10T20:00Z, which is already 03-11 in Tokyo.
 */
async function seed(store: GovernanceStore): Promise<void> {
  await seedTask(store, "acme", "2026-03-10", "t1", "flux2", 1_500_000, "pending");
  await seedTask(store, "acme", "2026-03-10", "t2", "veo-3-1", 2_000_000, "success");
  await seedTask(store, "acme", "2026-03-10", "t3", "flux2", 500_000, "failed");
  await seedTask(store, "acme", "2026-03-09", "t4", "flux2", 250_000, "success");
  await seedTask(store, "acme", "2026-03-07", "t5", "veo-3-1", 1_000_000, "success");
  await seedTask(store, "globex", "2026-03-11", "g1", "flux2", 800_000, "pending");
  await seedTask(store, "globex", "2026-03-10", "g2", "flux2", 100_000, "success");
}

describe.each(storeCases)("admin API over the $name store", (storeCase) => {
  let store: GovernanceStore;
  let app: express.Express;
  let snapshot = snapshotOf(TOKEN);
  const auth = { Authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    ({ store, app } = await openAdminApp(storeCase, seed, () => snapshot));
  });

  afterAll(async () => {
    await store.close();
  });

  describe("authentication", () => {
    it("refuses a call without a token with 401 in the error envelope", async () => {
      const res = await request(app).get("/admin/tenants").expect(401);
      expect(res.body).toMatchObject({
        code: 401,
        data: null,
        error: { type: "UNAUTHENTICATED", retryable: false },
      });
      expect(envelope(res).message).toMatch(/Bearer/);
      expect(envelope(res).error.requestId).toEqual(expect.any(String));
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(JSON.stringify(res.body)).not.toContain(TOKEN);
    });

    it("refuses a wrong token, a longer token and a prefix of the token", async () => {
      for (const wrong of ["nope", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const res = await request(app)
          .get("/admin/tenants")
          .set("Authorization", `Bearer ${wrong}`)
          .expect(401);
        expect(envelope(res).error.type).toBe("UNAUTHENTICATED");
      }
      await request(app).get("/admin/tenants").set("Authorization", TOKEN).expect(401);
      await request(app).get("/admin/tenants").set("Authorization", `Basic ${TOKEN}`).expect(401);
    });

    it("guards every route, also unknown tasks and tenants", async () => {
      await request(app).get("/admin/tenants/acme/usage").expect(401);
      await request(app).get("/admin/tenants/acme/tasks/t1").expect(401);
      await request(app).get("/admin/tenants/nobody/tasks/t1").expect(401);
    });

    it("echoes a sane X-Request-Id into the header and the envelope", async () => {
      const res = await request(app).get("/admin/tenants").set("X-Request-Id", "req-123").expect(401);
      expect(res.headers["x-request-id"]).toBe("req-123");
      expect(envelope(res).error.requestId).toBe("req-123");
    });
  });

  describe("GET /admin/tenants", () => {
    it("lists every tenant with its local today's spend, cap, remaining and in-flight tasks", async () => {
      const res = await request(app).get("/admin/tenants").set(auth).expect(200);
      expect(res.headers["cache-control"]).toBe("no-store");
      expect(tenantList(res).asOf).toBe("2026-03-10T20:00:00.000Z");
      expect(tenantList(res).tenants).toEqual([
        {
          tenantId: "acme",
          name: "Acme Corp",
          enabled: true,
          timeZone: "UTC",
          day: "2026-03-10",
          spentUsd: 3.5,
          capUsd: 10,
          remainingUsd: 6.5,
          month: "2026-03",
          monthSpentUsd: 4.75,
          monthlyCapUsd: null,
          monthRemainingUsd: null,
          inFlight: 1,
        },
        {
          tenantId: "globex",
          name: "globex",
          enabled: false,
          timeZone: "Asia/Tokyo",
          day: "2026-03-11",
          spentUsd: 0.8,
          capUsd: null,
          remainingUsd: null,
          month: "2026-03",
          monthSpentUsd: 0.9,
          monthlyCapUsd: null,
          monthRemainingUsd: null,
          inFlight: 1,
        },
      ]);
    });

    it("counts a monthly cap's remaining budget from the month's spend, never below 0", async () => {
      const before = snapshot;
      try {
        snapshot = snapshotOf(TOKEN, { acme: "monthlyCapUsd: 5", globex: "monthlyCapUsd: 0.5" });
        const [acme, globex] = tenantList(
          await request(app).get("/admin/tenants").set(auth).expect(200),
        ).tenants;
        expect(acme).toMatchObject({ monthSpentUsd: 4.75, monthlyCapUsd: 5, monthRemainingUsd: 0.25 });
        expect(globex).toMatchObject({ monthSpentUsd: 0.9, monthlyCapUsd: 0.5, monthRemainingUsd: 0 });
      } finally {
        snapshot = before;
      }
    });
  });

  describe("GET /admin/tenants/:id/usage", () => {
    it("answers the last 7 local days by default, oldest first, net spend by model", async () => {
      const res = await request(app).get("/admin/tenants/acme/usage").set(auth).expect(200);
      expect(history(res).tenantId).toBe("acme");
      expect(history(res).timeZone).toBe("UTC");
      expect(history(res).days.map((d) => d.day)).toEqual([
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-03-07",
        "2026-03-08",
        "2026-03-09",
        "2026-03-10",
      ]);
      expect(history(res).days.slice(3)).toEqual([
        { day: "2026-03-07", spentUsd: 1, refundedUsd: 0, byModel: { "veo-3-1": 1 } },
        { day: "2026-03-08", spentUsd: 0, refundedUsd: 0, byModel: {} },
        { day: "2026-03-09", spentUsd: 0.25, refundedUsd: 0, byModel: { flux2: 0.25 } },
        { day: "2026-03-10", spentUsd: 3.5, refundedUsd: 0.5, byModel: { flux2: 1.5, "veo-3-1": 2 } },
      ]);
      expect(history(res).totalSpentUsd).toBe(4.75);
      expect(history(res).totalRefundedUsd).toBe(0.5);
    });

    it("honours days=N and counts days in the tenant's time zone", async () => {
      const acme = await request(app).get("/admin/tenants/acme/usage?days=2").set(auth).expect(200);
      expect(history(acme).days.map((d) => d.day)).toEqual(["2026-03-09", "2026-03-10"]);
      const globex = await request(app).get("/admin/tenants/globex/usage?days=2").set(auth).expect(200);
      expect(globex.body).toEqual({
        tenantId: "globex",
        timeZone: "Asia/Tokyo",
        days: [
          { day: "2026-03-10", spentUsd: 0.1, refundedUsd: 0, byModel: { flux2: 0.1 } },
          { day: "2026-03-11", spentUsd: 0.8, refundedUsd: 0, byModel: { flux2: 0.8 } },
        ],
        totalSpentUsd: 0.9,
        totalRefundedUsd: 0,
      });
      const one = await request(app).get("/admin/tenants/acme/usage?days=1").set(auth).expect(200);
      expect(history(one).days).toHaveLength(1);
      const most = await request(app).get("/admin/tenants/acme/usage?days=90").set(auth).expect(200);
      expect(history(most).days).toHaveLength(90);
    });

    it.each(["0", "91", "-1", "2.5", "abc", "", "7&days=8"])("refuses days=%s with 400", async (days) => {
      const res = await request(app).get(`/admin/tenants/acme/usage?days=${days}`).set(auth).expect(400);
      expect(res.body).toMatchObject({ code: 400, error: { type: "INVALID_REQUEST" } });
      expect(envelope(res).message).toMatch(/days/);
    });

    it("answers 404 for a tenant not in config", async () => {
      const res = await request(app).get("/admin/tenants/nobody/usage").set(auth).expect(404);
      expect(res.body).toMatchObject({ code: 404, error: { type: "NOT_FOUND" } });
      expect(envelope(res).message).toContain("nobody");
    });
  });

  describe("GET /admin/tenants/:id/tasks/:taskId", () => {
    it("answers a pending task's ledger record in USD", async () => {
      const res = await request(app).get("/admin/tenants/acme/tasks/t1").set(auth).expect(200);
      expect(res.body).toMatchObject({
        taskId: "t1",
        tenantId: "acme",
        model: "flux2",
        state: "pending",
        costUsd: 1.5,
        refundedUsd: 0,
        day: "2026-03-10",
        upstream: "main",
        failCode: null,
      });
      expect(Number.isNaN(Date.parse(task(res).submittedAt))).toBe(false);
      expect(res.body).not.toHaveProperty("reservationId");
    });

    it("answers a failed, refunded task with its failCode", async () => {
      const res = await request(app).get("/admin/tenants/acme/tasks/t3").set(auth).expect(200);
      expect(res.body).toMatchObject({
        state: "failed",
        costUsd: 0.5,
        refundedUsd: 0.5,
        failCode: "CONTENT_POLICY",
      });
    });

    it("answers 404 for an unknown task, another tenant's task and an unknown tenant", async () => {
      const unknown = await request(app).get("/admin/tenants/acme/tasks/nope").set(auth).expect(404);
      expect(unknown.body).toMatchObject({ code: 404, error: { type: "NOT_FOUND" } });
      await request(app).get("/admin/tenants/acme/tasks/g1").set(auth).expect(404);
      const tenant = await request(app).get("/admin/tenants/nobody/tasks/t1").set(auth).expect(404);
      expect(envelope(tenant).message).toContain("nobody");
    });
  });

  describe("other paths", () => {
    it("answers 404 in the envelope for unknown admin paths and methods", async () => {
      const res = await request(app).get("/admin/nothing").set(auth).expect(404);
      expect(envelope(res).error.type).toBe("NOT_FOUND");
      await request(app).post("/admin/tenants").set(auth).expect(404);
    });

    it("answers 400 for an undecodable path parameter", async () => {
      const res = await request(app).get("/admin/tenants/%E0%A4%A/usage").set(auth).expect(400);
      expect(envelope(res).error.type).toBe("INVALID_REQUEST");
    });

    it("says the admin API is disabled when admin.token is unset, token or not", async () => {
      const before = snapshot;
      snapshot = snapshotOf(undefined);
      try {
        for (const headers of [{}, auth]) {
          const res = await request(app).get("/admin/tenants").set(headers).expect(404);
          expect(envelope(res).error.type).toBe("NOT_FOUND");
          expect(envelope(res).message).toMatch(/admin API is disabled/);
        }
      } finally {
        snapshot = before;
      }
    });
  });
});

describe("adminTokenMatches", () => {
  it("accepts only the exact token, whatever the lengths", () => {
    expect(adminTokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(adminTokenMatches(`${TOKEN} `, TOKEN)).toBe(false);
    expect(adminTokenMatches("", TOKEN)).toBe(false);
    expect(adminTokenMatches("x".repeat(1000), TOKEN)).toBe(false);
  });
});
