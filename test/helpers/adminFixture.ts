/** What the admin API tests share: the admin token, the two tenants' config, and both stores to run over. */
import { createHash, randomUUID } from "node:crypto";
import express from "express";
import { inject } from "vitest";
import { createAdminRouter } from "../../src/admin/router.js";
import { ManualClock, systemClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import type { ErrorEnvelope } from "../../src/errors/catalog.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import type { Attribution, DayWindow, GovernanceStore } from "../../src/limits/store.js";
import { buildSnapshot, type Snapshot } from "../../src/tenants/snapshot.js";
import { submitOf } from "./ledgerSeed.js";

/** supertest types every body as `any`: name what each answer is instead. */
export const envelope = (res: { body: unknown }) => res.body as ErrorEnvelope;

const HOUR_MS = 3_600_000;

export const TOKEN = "admin-token-0123456789abcdef";

export const hash = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

/** Extra YAML lines (e.g. `monthlyCapUsd: 5`) for a tenant of the fixture's config. */
export type TenantExtras = Partial<Record<"acme" | "globex", string>>;

export function configYaml(adminToken: string | undefined, extras: TenantExtras = {}): string {
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
    ${extras.acme ?? ""}
  - id: globex
    enabled: false
    timeZone: Asia/Tokyo
    keys: [{ hash: "${hash("globex-key")}" }]
    upstreamKey: main
    ${extras.globex ?? ""}
`;
}

export function snapshotOf(adminToken: string | undefined, extras: TenantExtras = {}): Snapshot {
  return buildSnapshot(parseConfig(configYaml(adminToken, extras), {}), 0);
}

export interface StoreCase {
  readonly name: string;
  open(): Promise<GovernanceStore>;
}

export const storeCases: readonly StoreCase[] = [
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

/**
 * A window whose "today" is the named day and whose bounds surround the store's real now, so a store picks that
 * day whatever its own clock says: seeds any day, past or present, through the public API only.
 */
export function windowFor(day: string): DayWindow {
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

export async function seedTask(
  store: GovernanceStore,
  tenantId: string,
  day: string,
  taskId: string,
  model: string,
  costMicros: number,
  outcome: "pending" | "success" | "failed",
  attribution: Attribution = {},
): Promise<void> {
  const submit = submitOf(tenantId, { model, costMicros, attribution, days: windowFor(day) });
  const { reservationId } = submit;
  const decision = await store.admitSubmit(submit);
  if (decision.kind !== "admitted") throw new Error(`seed: expected admitted, got ${decision.kind}`);
  if (decision.day !== day) throw new Error(`seed: admitted on ${decision.day}, not ${day}`);
  await store.recordTask({
    tenantId,
    taskId,
    model,
    costMicros,
    attribution,
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

/** The seeded admin tests' clock: 2026-03-10T20:00Z, which is already 2026-03-11 in globex's Tokyo. */
export const ADMIN_NOW_MS = Date.parse("2026-03-10T20:00:00Z");

/** A store of `storeCase` seeded by `seed`, and the admin router over it on /admin with its clock at ADMIN_NOW_MS. */
export async function openAdminApp(
  storeCase: StoreCase,
  seed: (store: GovernanceStore) => Promise<void>,
  snapshot: () => Snapshot,
): Promise<{ store: GovernanceStore; app: express.Express }> {
  const store = await storeCase.open();
  await seed(store);
  const app = express();
  app.use("/admin", createAdminRouter({ store, snapshot, clock: new ManualClock(ADMIN_NOW_MS) }));
  return { store, app };
}
