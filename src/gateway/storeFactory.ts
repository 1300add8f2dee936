import type { Clock } from "../clock.js";
import type { GatewayConfig } from "../config/schema.js";
import { MemoryStore } from "../limits/memory.js";
import { RedisStore } from "../limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../limits/redisClient.js";
import type { GovernanceStore } from "../limits/store.js";
import type { Logger } from "../telemetry/logger.js";

const STARTUP_WAIT_MS = 3_000;

/**
 * The store named by the config: embedded memory (single process, the demo) or Redis (shared by replicas).
 * A Redis that is down at start does not stop the gateway: it starts not-ready and heals when Redis returns.
 */
export async function createStore(
  config: GatewayConfig["store"],
  clock: Clock,
  logger: Logger,
): Promise<GovernanceStore> {
  if (config.kind === "memory") return new MemoryStore({ clock });
  const url = config.redisUrl ?? "";
  let lastLoggedMs = 0;
  const redis = createRedisClient(url, {
    onError: (err) => {
      // Reconnect attempts fail in a loop while Redis is down: log at most once a second.
      const now = clock.now();
      if (now - lastLoggedMs < 1000) return;
      lastLoggedMs = now;
      logger.warn({ event: "redis_error", err: err.message }, "limit store connection problem");
    },
  });
  try {
    await waitForRedisReady(redis, STARTUP_WAIT_MS);
  } catch (err) {
    logger.warn(
      { event: "redis_not_ready", err: err instanceof Error ? err.message : String(err) },
      "starting without Redis",
    );
  }
  return new RedisStore({ redis, prefix: config.keyPrefix, silenceMs: config.commandTimeoutMs });
}
