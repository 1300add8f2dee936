import { inject } from "vitest";
import { describeStoreContract, redisStoreUnderTest } from "./store.contract.js";

describeStoreContract("redis", () => redisStoreUnderTest({ topology: "single", url: inject("redisUrl") }));
