import { createHash, randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { adminTokenMatches, createAdminRouter } from "../../src/admin/router.js";
import { ManualClock, systemClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import { buildSnapshot, type Snapshot } from "../../src/tenants/snapshot.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import type { DayWindow, GovernanceStore } from "../../src/limits/store.js";
import type { TaskView, TenantHistory, TenantUsageRow } from "../../src/admin/usage.js";
import type { ErrorEnvelope } from "../../src/errors/catalog.js";
import type { LedgerCheckView, ReservationView } from "../../src/ledger/operations.js";
import { addDays, dayWindow } from "../../src/limits/days.js";
import type { SubmitRequest } from "../../src/limits/store.js";
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

const TOKEN = "admin-token-0123456789abcdef";
const HOUR_MS = 3_600_000;

/** supertest types every body as `any`: name what each answer is instead. */
const envelope = (res: { body: unknown }) => res.body as ErrorEnvelope;
const history = (res: { body: unknown }) => res.body as TenantHistory;
const tenantList = (res: { body: unknown }) => res.body as { asOf: string; tenants: TenantUsageRow[] };
const task = (res: { body: unknown }) => res.body as TaskView;

const hash = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

function configYaml(adminToken: string | undefined): string {
  return `
upstream:
  keys:
    - alias: main
      key: sk-upstream-test
${adminToken === undefined ? "" : `admin:\n  token: ${adminToken}\n`}
tenants:
  - id: acme
    name: Acme Corp
    keys: [{ hash: "${hash("acme-key")}" }]
    upstreamKey: main
    dailyCapUsd: 10
  - id: globex
    enabled: false
    timeZone: Asia/Tokyo
    keys: [{ hash: "${hash("globex-key")}" }]
    upstreamKey: main
`;
}

function snapshotOf(adminToken: string | undefined): Snapshot {
  return buildSnapshot(parseConfig(configYaml(adminToken), {}), 0);
}

/**
 * A window whose "today" is the named day and whose bounds surround the store's real now, so a store picks that
 * day whatever its own clock says: seeds any day, past or present, through the public API only.
 */
function windowFor(day: string): DayWindow {
  const now = Date.now();
  const [y, m, d] = day.split("-").map(Number);
  const name = (delta: number) => new Date(Date.UTC(y!, m! - 1, d! + delta)).toISOString().slice(0, 10);
  return {
    yesterday: name(-1),
    today: day,
    tomorrow: name(1),
    startTodayMs: now - 6 * HOUR_MS,
    startTomorrowMs: now + 6 * HOUR_MS,
  };
}

async function seedTask(
  store: GovernanceStore,
  tenantId: string,
  day: string,
  taskId: string,
  model: string,
  costMicros: number,
  outcome: "pending" | "success" | "failed",
): Promise<void> {
  const reservationId = randomUUID();
  const decision = await store.admitSubmit({
    tenantId,
    model,
    buckets: [{ name: "submit", ratePerSec: 100, burst: 1000 }],
    maxInFlight: null,
    capMicros: null,
    costMicros,
    days: windowFor(day),
    reservationId,
    taskMaxAgeMs: HOUR_MS,
    upstream: "main",
  });
  if (decision.kind !== "admitted") throw new Error(`seed: expected admitted, got ${decision.kind}`);
  expect(decision.day).toBe(day);
  await store.recordTask({
    tenantId,
    taskId,
    model,
    costMicros,
    day,
    reservationId,
    upstream: "main",
    ttlSec: 3600,
  });
  if (outcome === "success") await store.settleTask({ tenantId, taskId, state: "success", refund: true });
  if (outcome === "failed") {
    await store.settleTask({ tenantId, taskId, state: "failed", failCode: "CONTENT_POLICY", refund: true });
  }
}

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

interface StoreCase {
  readonly name: string;
  open(): Promise<GovernanceStore>;
}

const storeCases: readonly StoreCase[] = [
  { name: "memory", open: () => Promise.resolve(new MemoryStore({ clock: systemClock })) },
  {
    name: "redis",
    open: async () => {
      const redis = createRedisClient(inject("redisUrl"), { commandTimeoutMs: 2000 });
      await waitForRedisReady(redis, 5000);
      return new RedisStore({ redis, prefix: `test-admin-${randomUUID()}`, accountOf: () => "main" });
    },
  },
];

describe.each(storeCases)("admin API over the $name store", (storeCase) => {
  let store: GovernanceStore;
  let app: express.Express;
  let snapshot = snapshotOf(TOKEN);
  const clock = new ManualClock(Date.parse("2026-03-10T20:00:00Z"));
  const auth = { Authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    store = await storeCase.open();
    await seed(store);
    app = express();
    app.use("/admin", createAdminRouter({ store, snapshot: () => snapshot, clock }));
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
          inFlight: 1,
        },
      ]);
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
