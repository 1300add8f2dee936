/** What the admin API tests share: the admin token, the two tenants' config, and both stores to run over. */
import { createHash, randomUUID } from "node:crypto";
import { inject } from "vitest";
import { systemClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import type { ErrorEnvelope } from "../../src/errors/catalog.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import type { GovernanceStore } from "../../src/limits/store.js";
import { buildSnapshot, type Snapshot } from "../../src/tenants/snapshot.js";

/** supertest types every body as `any`: name what each answer is instead. */
export const envelope = (res: { body: unknown }) => res.body as ErrorEnvelope;

export const TOKEN = "admin-token-0123456789abcdef";

export const hash = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

export function configYaml(adminToken: string | undefined): string {
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

export function snapshotOf(adminToken: string | undefined): Snapshot {
  return buildSnapshot(parseConfig(configYaml(adminToken), {}), 0);
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
