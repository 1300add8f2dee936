import type { Clock } from "../clock.js";
import type { GatewayConfig } from "../config/schema.js";
import { redisTopologyOf } from "../config/redis.js";
import { createRedisClient, waitForRedisReady } from "../limits/redisClient.js";
import type { Logger } from "../telemetry/logger.js";
import { MemoryCallbackStore } from "./memoryStore.js";
import { RedisCallbackStore } from "./redisStore.js";
import type { CallbackStore } from "./store.js";

/**
 * The callback store lives where the governance store does (config.store), on its own connection: pending
 * deliveries survive a restart and are shared by replicas only with Redis.
 */
export async function createCallbackStore(
  config: GatewayConfig["store"],
  clock: Clock,
  logger: Logger,
): Promise<CallbackStore> {
  if (config.kind === "memory") return new MemoryCallbackStore(clock);
  let lastLoggedMs = 0;
  const redis = createRedisClient(redisTopologyOf(config), {
    // Background work, not the hot path: a slower answer is fine.
    commandTimeoutMs: Math.max(config.commandTimeoutMs, 1_000),
    onError: (err) => {
      const now = clock.now();
      if (now - lastLoggedMs < 1000) return;
      lastLoggedMs = now;
      logger.warn({ event: "redis_error", err: err.message }, "callback store connection problem");
    },
  });
  // Commands fail fast while disconnected; a Redis down at start only delays callbacks (the worker retries).
  await waitForRedisReady(redis, 3_000).catch(() => undefined);
  return new RedisCallbackStore(redis, config.keyPrefix);
}
