import { ConfigError, loadConfigFile } from "../config/load.js";
import { redisTopologyOf } from "../config/redis.js";
import type { GatewayConfig } from "../config/schema.js";
import { createToolStore } from "../gateway/storeFactory.js";

/** "redis (cluster, 3 seed nodes)": what the file chose, without an address or a password. */
function storeSummary(store: GatewayConfig["store"]): string {
  if (store.kind === "memory") return "memory";
  const topology = redisTopologyOf(store);
  switch (topology.topology) {
    case "single":
      return `redis (single${topology.url.startsWith("rediss://") ? ", TLS" : ""})`;
    case "sentinel":
      return `redis (sentinel, master ${topology.masterName}, ${topology.sentinels.length} sentinel(s))`;
    case "cluster":
      return `redis (cluster, ${topology.nodes.length} seed node(s))`;
  }
}

/** With --connect: the store is reached and checked as readiness checks it (topology, EVAL, ACL). */
async function connectCheck(config: GatewayConfig): Promise<string | null> {
  try {
    const store = await createToolStore(config);
    try {
      await store.ping();
      return null;
    } finally {
      await store.close();
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Exit code 0 when the file is valid (and, with connect, its store usable), 1 with every problem listed. */
export async function configCheckCommand(file: string, options: { connect?: boolean } = {}): Promise<number> {
  let config: GatewayConfig;
  try {
    config = await loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const summary = `${config.tenants.length} tenant(s), store ${storeSummary(config.store)}`;
  if (options.connect === true) {
    const problem = await connectCheck(config);
    if (problem !== null) {
      process.stderr.write(`${file}: valid, but the store cannot be used: ${problem}\n`);
      return 1;
    }
  }
  process.stdout.write(`${file}: valid (${summary})\n`);
  return 0;
}
