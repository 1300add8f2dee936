import type { ScriptName } from "./lua/index.js";
import type { RedisConnection } from "./redisClient.js";

/** Replicas a ledger write must reach (Redis WAIT), and how long one write waits for them. */
export interface ReplicaAcks {
  readonly count: number;
  readonly timeoutMs: number;
}

/** Scripts that write money or the ledger: what a failover must not lose once the gateway acted on it. */
export const LEDGER_WRITES: ReadonlySet<ScriptName> = new Set<ScriptName>([
  "agwAdmitSubmit",
  "agwRelease",
  "agwRecordTask",
  "agwMarkUnknown",
  "agwSettle",
  "agwMarkOrphans",
]);

/** Replies that mean "this node did not run it; ask another, or again": the cluster's redirects. */
const REDIRECT = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * The script and WAIT in one pipeline: one round trip, to the node that owns the keys (WAIT has none, so a
 * Cluster sends it along). Too few acknowledgements within the timeout is not a failure: the write is on the
 * primary, and only a failover inside that window could lose it (docs/scaling.md).
 */
export async function runAcknowledged(
  redis: RedisConnection,
  name: ScriptName,
  scriptArgs: readonly (string | number)[],
  acks: ReplicaAcks,
): Promise<unknown> {
  const pipeline = redis.pipeline();
  Reflect.apply(scriptCommand(pipeline, name), pipeline, scriptArgs);
  pipeline.wait(acks.count, acks.timeoutMs);
  const [script] = (await pipeline.exec()) ?? [];
  if (script === undefined) throw new Error(`script ${name}: no reply`);
  const [err, reply] = script;
  if (err === null) return reply;
  if (err instanceof Error && REDIRECT.test(err.message)) return runRedirected(redis, name, scriptArgs, acks);
  throw err;
}

/**
 * A redirect means the node did not run the script (a slot moved: resharding, failover). ioredis follows
 * redirects for a pipeline only when every other command in it is read-only, and WAIT is not, so the script
 * goes again on its own, where ioredis follows MOVED and ASK, retries TRYAGAIN and CLUSTERDOWN, and learns the
 * new slot map; then WAIT goes to the node that owns its keys. A second round trip, only after a redirect.
 */
async function runRedirected(
  redis: RedisConnection,
  name: ScriptName,
  scriptArgs: readonly (string | number)[],
  acks: ReplicaAcks,
): Promise<unknown> {
  const reply: unknown = await Reflect.apply(scriptCommand(redis, name), redis, scriptArgs);
  const firstKey = scriptArgs[1];
  if (firstKey !== undefined) {
    // Routed by the key's slot (EXISTS reads nothing we need). Its failure is not the write's: see above.
    await redis
      .pipeline()
      .exists(String(firstKey))
      .wait(acks.count, acks.timeoutMs)
      .exec()
      .catch(() => undefined);
  }
  return reply;
}

/** The client's (or pipeline's) command for a defined script. */
export function scriptCommand(target: object, name: ScriptName): (...args: unknown[]) => unknown {
  const command: unknown = Reflect.get(target, name);
  if (typeof command !== "function") throw new Error(`script ${name} is not defined on this client`);
  return command as (...args: unknown[]) => unknown;
}
