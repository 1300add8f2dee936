/** The admin API's ledger routes: reservations, the ledger check, an operator's release, and a store that is down. */
import { randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdminRouter } from "../../src/admin/router.js";
import { ManualClock, systemClock } from "../../src/clock.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient } from "../../src/limits/redisClient.js";
import type { GovernanceStore, SubmitRequest } from "../../src/limits/store.js";
import type { LedgerCheckView, ReservationView } from "../../src/ledger/operations.js";
import { addDays, dayWindow } from "../../src/limits/days.js";
import { startHarness } from "../helpers/gatewayHarness.js";
import {
  ONE_SLOT_ACCOUNT,
  seedOpen,
  seedReleased,
  seedTask as seedLedgerTask,
  seedUnknown,
  sleep,
  spendToday,
  submitOf,
} from "../helpers/ledgerSeed.js";
import { TOKEN, envelope, snapshotOf, storeCases } from "../helpers/adminFixture.js";

describe("admin API when the store is unreachable", () => {
  it("answers 503 LIMITS_UNAVAILABLE without internals, on the ledger routes too", async () => {
    const redis = createRedisClient("redis://127.0.0.1:1", {
      commandTimeoutMs: 200,
      maxReconnectDelayMs: 5000,
    });
    const store = new RedisStore({ redis, prefix: `test-admin-${randomUUID()}`, accountOf: () => "main" });
    try {
      const app = express();
      app.use(
        "/admin",
        createAdminRouter({ store, snapshot: () => snapshotOf(TOKEN), clock: new ManualClock() }),
      );
      const res = await request(app)
        .get("/admin/tenants")
        .set("Authorization", `Bearer ${TOKEN}`)
        .expect(503);
      expect(res.body).toMatchObject({ code: 503, error: { type: "LIMITS_UNAVAILABLE", retryable: true } });
      expect(envelope(res).message).not.toMatch(/127\.0\.0\.1/);
      for (const ledger of [
        request(app).get("/admin/tenants/acme/reservations"),
        request(app).get("/admin/tenants/acme/ledger-check"),
        request(app).post(`/admin/tenants/acme/reservations/${randomUUID()}/release`),
      ]) {
        const down = await ledger.set("Authorization", `Bearer ${TOKEN}`).expect(503);
        expect(envelope(down).error.type).toBe("LIMITS_UNAVAILABLE");
      }
    } finally {
      redis.disconnect();
    }
  });
});

/** The ledger routes: reservations, the ledger check, and an operator's release (the one route that writes). */
describe.each(storeCases)("admin ledger routes over the $name store", (storeCase) => {
  let store: GovernanceStore;
  let app: express.Express;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const snapshot = snapshotOf(TOKEN);
  const today = () => dayWindow("UTC", Date.now()).today;
  let open: SubmitRequest;
  let unknown: SubmitRequest;
  const reservations = (res: { body: unknown }) =>
    res.body as { tenantId: string; asOf: string; reservations: ReservationView[] };
  const check = (res: { body: unknown }) => res.body as LedgerCheckView;

  beforeAll(async () => {
    store = await storeCase.open();
    app = express();
    app.use("/admin", createAdminRouter({ store, snapshot: () => snapshot, clock: systemClock }));
    await seedLedgerTask(store, submitOf("acme", { costMicros: 1_000_000 }));
    await seedLedgerTask(store, submitOf("acme", { costMicros: 500_000 }), "failed");
    await seedReleased(store, submitOf("acme", { costMicros: 50_000 }));
    open = await seedOpen(store, submitOf("acme", { costMicros: 20_000, model: "veo-3-1" }));
    unknown = await seedUnknown(store, submitOf("acme", { costMicros: 400_000 }), "reset");
  });

  afterAll(async () => {
    await store.close();
  });

  it("lists exactly the open and unknown-outcome reservations, with cost in USD, state, reason and age", async () => {
    const res = await request(app).get("/admin/tenants/acme/reservations").set(auth).expect(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(reservations(res).tenantId).toBe("acme");
    const listed = reservations(res).reservations;
    expect(listed.map((r) => r.reservationId).sort()).toEqual(
      [open.reservationId, unknown.reservationId].sort(),
    );
    const view = listed.find((r) => r.reservationId === open.reservationId);
    // Admitted moments ago, by the store's clock.
    expect(Date.now() - Date.parse(view?.admittedAt ?? "")).toBeLessThan(60_000);
    expect(view?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(view).toEqual({
      reservationId: open.reservationId,
      tenantId: "acme",
      day: today(),
      model: "veo-3-1",
      costUsd: 0.02,
      upstream: "main",
      state: "open",
      reason: null,
      admittedAt: view?.admittedAt,
      ageSeconds: view?.ageSeconds,
    });
    expect(listed.find((r) => r.reservationId === unknown.reservationId)).toMatchObject({
      costUsd: 0.4,
      state: "unknown",
      reason: "reset",
    });
    const empty = await request(app).get("/admin/tenants/globex/reservations").set(auth).expect(200);
    expect(reservations(empty).reservations).toEqual([]);
  });

  it("answers the ledger check of the tenant's today: ok, with the figures in USD", async () => {
    const res = await request(app).get("/admin/tenants/acme/ledger-check").set(auth).expect(200);
    expect(check(res)).toEqual({
      tenantId: "acme",
      day: today(),
      ok: true,
      problems: [],
      figures: {
        spentUsd: 1.42,
        chargedUsd: 1.5,
        refundedUsd: 0.5,
        unknownUsd: 0.4,
        openUsd: 0.02,
        tasks: 2,
        unverifiableTasks: 0,
        inFlight: 3,
        unknownReservations: 1,
      },
    });
    const yesterday = addDays(today(), -1);
    const other = await request(app)
      .get(`/admin/tenants/acme/ledger-check?day=${yesterday}`)
      .set(auth)
      .expect(200);
    expect(check(other)).toMatchObject({ day: yesterday, figures: { spentUsd: 0, tasks: 0 } });
  });

  it("names an open reservation older than the orphan age as a problem", async () => {
    await sleep(30);
    const res = await request(app)
      .get("/admin/tenants/acme/ledger-check?orphanAfterSeconds=0.01")
      .set(auth)
      .expect(200);
    expect(check(res).ok).toBe(false);
    expect(check(res).problems).toEqual([expect.stringContaining(`reservation ${open.reservationId}`)]);
    // The default orphan age comes from the config (upstream.timeoutMs + 30 s): not yet an orphan.
    const byDefault = await request(app).get("/admin/tenants/acme/ledger-check").set(auth).expect(200);
    expect(check(byDefault).ok).toBe(true);
  });

  it("releases an unknown outcome once: spend, tenant slot, account slot and Idempotency-Key come back", async () => {
    const held = await seedUnknown(
      store,
      submitOf("globex", {
        costMicros: 300_000,
        days: dayWindow("Asia/Tokyo", Date.now()),
        account: ONE_SLOT_ACCOUNT,
        idempotency: { key: "retry-me", ttlSec: 600 },
      }),
    );
    const day = dayWindow("Asia/Tokyo", Date.now()).today;
    const spend = async () => (await store.spendOfDays("globex", [day]))[0]?.spentMicros ?? 0;
    const probe = () =>
      submitOf("globex", { days: dayWindow("Asia/Tokyo", Date.now()), account: ONE_SLOT_ACCOUNT });
    const before = await spend();
    expect((await store.admitSubmit(probe())).kind).toBe("account_limited");

    const path = `/admin/tenants/globex/reservations/${held.reservationId}/release`;
    const res = await request(app).post(path).set(auth).expect(200);
    expect(res.body).toMatchObject({
      released: true,
      reservation: {
        reservationId: held.reservationId,
        state: "unknown",
        reason: "timeout",
        costUsd: 0.3,
        day,
      },
      accountSlotFreed: true,
      idempotencyKeyFreed: true,
    });
    expect(await spend()).toBe(before - 300_000);
    expect((await store.snapshot("globex", day)).inFlight).toBe(0);
    // The key's hold is gone: a retry with it is admitted as a new submit, not told to wait.
    const retry = submitOf("globex", {
      days: dayWindow("Asia/Tokyo", Date.now()),
      account: ONE_SLOT_ACCOUNT,
      idempotency: { key: "retry-me", ttlSec: 600 },
    });
    expect((await store.admitSubmit(retry)).kind).toBe("admitted");
    const afterRetry = await spend();

    const again = await request(app).post(path).set(auth).expect(404);
    expect(envelope(again).error.type).toBe("NOT_FOUND");
    expect(envelope(again).message).toMatch(/released or charged/);
    expect(await spend()).toBe(afterRetry);
    expect(
      reservations(await request(app).get("/admin/tenants/globex/reservations").set(auth)).reservations,
    ).toHaveLength(1);
  });

  it("guards the ledger routes with the admin token", async () => {
    await request(app).get("/admin/tenants/acme/reservations").expect(401);
    await request(app).get("/admin/tenants/acme/ledger-check").expect(401);
    const res = await request(app)
      .post(`/admin/tenants/acme/reservations/${unknown.reservationId}/release`)
      .set("Authorization", "Bearer wrong-token-0123456789")
      .expect(401);
    expect(envelope(res).error.type).toBe("UNAUTHENTICATED");
    expect(await spendToday(store, "acme")).toBe(1_420_000);
    expect((await store.reservations("acme")).map((r) => r.reservationId)).toContain(unknown.reservationId);
  });

  it("answers 404 for a tenant not in config on every ledger route", async () => {
    for (const req of [
      request(app).get("/admin/tenants/nobody/reservations"),
      request(app).get("/admin/tenants/nobody/ledger-check"),
      request(app).post(`/admin/tenants/nobody/reservations/${unknown.reservationId}/release`),
    ]) {
      const res = await req.set(auth).expect(404);
      expect(envelope(res).message).toContain("nobody");
    }
    // Another tenant's reservation is not found under this one, and stays held.
    await request(app)
      .post(`/admin/tenants/globex/reservations/${unknown.reservationId}/release`)
      .set(auth)
      .expect(404);
    expect((await store.reservations("acme")).map((r) => r.reservationId)).toContain(unknown.reservationId);
  });

  it.each([
    ["day=2026-02-30", /day/],
    ["day=yesterday", /day/],
    ["day=2026-03-01&day=2026-03-02", /once/],
    ["orphanAfterSeconds=-1", /orphanAfterSeconds/],
    ["orphanAfterSeconds=soon", /orphanAfterSeconds/],
  ])("refuses ledger-check?%s with 400", async (query, message) => {
    const res = await request(app).get(`/admin/tenants/acme/ledger-check?${query}`).set(auth).expect(400);
    expect(envelope(res).error.type).toBe("INVALID_REQUEST");
    expect(envelope(res).message).toMatch(message);
  });

  it("refuses a reservation id that no gateway would choose with 400, without echoing it", async () => {
    const res = await request(app)
      .post("/admin/tenants/acme/reservations/%3Cscript%3E/release")
      .set(auth)
      .expect(400);
    expect(envelope(res).error.type).toBe("INVALID_REQUEST");
    expect(envelope(res).message).not.toContain("<script>");
  });
});

describe("admin ledger routes in a running gateway", () => {
  it("serves the release on the metrics port only; the public port neither answers nor releases it", async () => {
    const harness = await startHarness({ config: { admin: { token: TOKEN } } });
    try {
      const { store } = harness.gateway;
      const held = await seedUnknown(store, submitOf("acme"));
      const path = `/admin/tenants/acme/reservations/${held.reservationId}/release`;
      const auth = { Authorization: `Bearer ${TOKEN}` };
      const publicRes = await request(harness.url).post(path).set(auth);
      expect(publicRes.status).toBe(404);
      expect(await store.reservations("acme")).toHaveLength(1);
      const opsUrl = harness.gateway.metricsUrl.replace(/\/metrics$/, "");
      const res = await request(opsUrl).post(path).set(auth).expect(200);
      expect(res.body).toMatchObject({ released: true });
      expect(await store.reservations("acme")).toEqual([]);
      expect(await spendToday(store, "acme")).toBe(0);
      const logged = harness.logs.records().find((r) => r.event === "reservation_released_by_operator");
      expect(logged).toMatchObject({ tenant: "acme", reservationId: held.reservationId });
    } finally {
      await harness.close();
    }
  });
});
