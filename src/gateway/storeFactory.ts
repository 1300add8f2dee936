import { systemClock, type Clock } from "../clock.js";
import { redisTopologyOf } from "../config/redis.js";
import type { GatewayConfig, TenantConfig } from "../config/schema.js";
import type { AccountOf } from "../limits/callCache.js";
import { MemoryStore } from "../limits/memory.js";
import { RedisStore } from "../limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../limits/redisClient.js";
import { StoreMisconfigured } from "../limits/redisProbe.js";
import type { GovernanceStore } from "../limits/store.js";
import { createLogger, type Logger } from "../telemetry/logger.js";

const STARTUP_WAIT_MS = 3_000;

/**
 * On Cluster the silence watchdog watches the one client, not each node: replies from healthy nodes keep it
 * quiet while one node stalls. ioredis' own per-command timeout, far above the watchdog's, bounds that case.
 */
const CLUSTER_BACKSTOP_FACTOR = 10;
const CLUSTER_BACKSTOP_MIN_MS = 5_000;

/** Each tenant's upstream account, from a fixed list of tenants (the CLI's one-shot commands). */
export function accountsOf(tenants: readonly TenantConfig[]): AccountOf {
  const byTenant = new Map(tenants.map((t) => [t.id, t.upstreamKey]));
  return (tenantId) => byTenant.get(tenantId);
}

/** The store of a one-shot CLI command: the config's tenants fixed, connection trouble left to the caller. */
export function createToolStore(config: GatewayConfig): Promise<GovernanceStore> {
  return createStore(config.store, accountsOf(config.tenants), systemClock, createLogger("silent"));
}

/**
 * The store named by the config: embedded memory (single process, the demo) or Redis (shared by replicas) in
 * the topology store.redis names. A Redis that is down at start does not stop the gateway: it starts
 * not-ready (readiness says why) and heals when Redis returns.
 */
export async function createStore(
  config: GatewayConfig["store"],
  accountOf: AccountOf,
  clock: Clock,
  logger: Logger,
): Promise<GovernanceStore> {
  if (config.kind === "memory") return new MemoryStore({ clock, maxRecords: config.memoryMaxRecords });
  const topology = redisTopologyOf(config);
  let lastLoggedMs = 0;
  const redis = createRedisClient(topology, {
    ...(topology.topology === "cluster"
      ? {
          commandTimeoutMs: Math.max(
            config.commandTimeoutMs * CLUSTER_BACKSTOP_FACTOR,
            CLUSTER_BACKSTOP_MIN_MS,
          ),
        }
      : {}),
    onError: (err) => {
      // Reconnect attempts fail in a loop while Redis is down: log at most once a second.
      const now = clock.now();
      if (now - lastLoggedMs < 1000) return;
      lastLoggedMs = now;
      logger.warn({ event: "redis_error", err: err.message }, "limit store connection problem");
    },
  });
  const store = new RedisStore({
    redis,
    prefix: config.keyPrefix,
    accountOf,
    silenceMs: config.commandTimeoutMs,
    topology: topology.topology,
    replicaAcks: { count: topology.replicaAcks, timeoutMs: topology.replicaAckTimeoutMs },
  });
  try {
    await waitForRedisReady(redis, STARTUP_WAIT_MS);
  } catch (err) {
    logger.warn(
      { event: "redis_not_ready", err: err instanceof Error ? err.message : String(err) },
      "starting without Redis",
    );
    return store;
  }
  // A Redis that answers but cannot run the scripts will not heal: refuse to start, saying why.
  try {
    await store.ping();
  } catch (err) {
    if (err instanceof StoreMisconfigured) {
      await store.close();
      throw err;
    }
  }
  return store;
}
