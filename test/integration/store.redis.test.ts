import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import { describeStoreContract } from "./store.contract.js";

describeStoreContract("redis", async () => {
  const redis = createRedisClient(inject("redisUrl"), { commandTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
  const store = new RedisStore({ redis, prefix: `test-${randomUUID()}` });
  return {
    store,
    storeNowMs: async () => {
      const [sec, usec] = await redis.time();
      return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    },
    close: () => store.close(),
  };
});
