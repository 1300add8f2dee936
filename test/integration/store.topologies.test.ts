import { afterAll } from "vitest";
import {
  startRedisCluster,
  startSentinelSetup,
  type RedisClusterHarness,
  type SentinelHarness,
} from "../helpers/redisTopologies.js";
import { describeStoreContract, redisStoreUnderTest } from "./store.contract.js";

// One cluster and one Sentinel setup for the file, each started by its suite's first case.
let cluster: Promise<RedisClusterHarness> | undefined;
let sentinel: Promise<SentinelHarness> | undefined;
afterAll(async () => {
  await Promise.all([cluster?.then((c) => c.stop()), sentinel?.then((s) => s.stop())]);
});

describeStoreContract("redis cluster (3 masters, 3 replicas)", async () => {
  cluster ??= startRedisCluster();
  return redisStoreUnderTest((await cluster).topology);
});

describeStoreContract("redis sentinel (primary, 1 replica, 3 sentinels)", async () => {
  sentinel ??= startSentinelSetup();
  return redisStoreUnderTest((await sentinel).topology);
});
