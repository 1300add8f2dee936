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
  const command: unknown = Reflect.get(pipeline, name);
  if (typeof command !== "function") throw new Error(`script ${name} is not defined on this client`);
  Reflect.apply(command, pipeline, scriptArgs);
  pipeline.wait(acks.count, acks.timeoutMs);
  const [script] = (await pipeline.exec()) ?? [];
  if (script === undefined) throw new Error(`script ${name}: no reply`);
  const [err, reply] = script;
  if (err !== null) throw err;
  return reply;
}
