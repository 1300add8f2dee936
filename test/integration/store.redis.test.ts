import { inject } from "vitest";
import { singleRedis } from "../../src/config/redis.js";
import { describeStoreContract, redisStoreUnderTest } from "./store.contract.js";

describeStoreContract("redis", () => redisStoreUnderTest(singleRedis(inject("redisUrl"))));
