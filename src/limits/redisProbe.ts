import type { RedisTopology } from "../config/redis.js";
import type { RedisConnection } from "./redisClient.js";
import { StoreUnavailable } from "./store.js";

/**
 * A store that answers but cannot run the gateway's scripts: the wrong topology behind the address, or an ACL
 * that forbids them. It will not heal by itself, so readiness and start-up say what is wrong instead of
 * "unreachable".
 */
export class StoreMisconfigured extends StoreUnavailable {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, maybeApplied: false });
    this.name = "StoreMisconfigured";
  }
}

/** The probe script reads one key under the prefix: EVAL, and the ACL's key pattern, both checked. */
export const PROBE_SCRIPT = "return redis.call('EXISTS', KEYS[1])";

export function probeKey(prefix: string): string {
  return `${prefix}:{probe}:probe`;
}

/** `redis_mode` from INFO server: standalone, sentinel or cluster. */
function modeOf(info: string): string {
  return /^redis_mode:(\S+)/m.exec(info)?.[1] ?? "standalone";
}

/** What is wrong when the server's mode does not fit the topology the config names; null when it fits. */
export function topologyProblem(topology: RedisTopology["topology"], info: string): string | null {
  const mode = modeOf(info);
  if (topology === "cluster") {
    return mode === "cluster"
      ? null
      : `store.redis.topology is cluster but the server is a ${mode} Redis (redis_mode:${mode})`;
  }
  if (mode === "sentinel") {
    return `store.redis names a Redis Sentinel as a data node: use topology: sentinel with it under sentinels and the monitored masterName`;
  }
  if (mode === "cluster") {
    return `the server is a Redis Cluster node but store.redis.topology is ${topology}: use topology: cluster with it under nodes`;
  }
  return null;
}

/** Replies that mean the Redis user may not do what the gateway needs. */
const DENIED = /^(NOPERM|NOAUTH|WRONGPASS)\b/;

/**
 * Runs the checks and throws StoreMisconfigured with the reason, or the connection's own StoreUnavailable.
 * `send` runs a command under the store's silence watchdog.
 */
export async function probeRedis(
  redis: RedisConnection,
  topology: RedisTopology["topology"],
  prefix: string,
  send: <T>(operation: string, command: () => Promise<T>) => Promise<T>,
): Promise<void> {
  const info = await send("ping", () => redis.info("server")).catch((err: unknown) => {
    throw denied(err) ?? err;
  });
  const problem = topologyProblem(topology, info);
  if (problem !== null) throw new StoreMisconfigured(problem);
  await send("ping", () => redis.eval(PROBE_SCRIPT, 1, probeKey(prefix))).catch((err: unknown) => {
    throw denied(err) ?? err;
  });
}

function denied(err: unknown): StoreMisconfigured | null {
  const cause = err instanceof StoreUnavailable && err.cause !== undefined ? err.cause : err;
  if (!(cause instanceof Error) || cause.name !== "ReplyError") return null;
  if (DENIED.test(cause.message)) {
    return new StoreMisconfigured(
      `the Redis user may not run the gateway's scripts (${cause.message}); it needs +@scripting, +info and ~<keyPrefix>:*`,
      { cause },
    );
  }
  if (cause.message.startsWith("ERR unknown command")) {
    return new StoreMisconfigured(`the server does not run the gateway's scripts (${cause.message})`, {
      cause,
    });
  }
  return null;
}
