import { z } from "zod";

/**
 * `store.redis`: which Redis deployment the gateway talks to, chosen explicitly. Each topology is built with
 * ioredis' own client for it (limits/redisClient.ts); the docs are docs/scaling.md and the example config.
 */

/** `host:port`, as Sentinel and Cluster seed lists are usually written. */
const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be "host:port"')
  .transform((value) => {
    const at = value.lastIndexOf(":");
    const host = value.slice(0, at).replace(/^\[|\]$/g, "");
    return { host, port: Number(value.slice(at + 1)) };
  });

/** TLS to the servers: true for the system's CAs (managed offerings), or a CA file / SNI name of its own. */
const tls = z
  .union([
    z.boolean(),
    z.strictObject({
      /** PEM file of the CA that signed the servers' certificates (a private CA). */
      caFile: z.string().min(1).optional(),
      /** The name to check the certificate against when it is not the host connected to. */
      servername: z.string().min(1).optional(),
    }),
  ])
  .default(false);

/**
 * Replicas that must have a ledger write before the gateway acts on it (Redis WAIT after the script), so a
 * failover to that replica keeps it. 0 turns it off; the write is then kept only if replication got it out
 * before the primary died (docs/scaling.md, "What a failover costs").
 */
const replicaAcks = {
  replicaAcks: z.int().nonnegative().max(16),
  /** How long one write waits for them; past it the gateway goes on (the write is on the primary). */
  replicaAckTimeoutMs: z.int().positive().default(100),
};

const single = z.strictObject({
  topology: z.literal("single"),
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS. */
  url: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://"),
  ...replicaAcks,
  replicaAcks: replicaAcks.replicaAcks.default(0),
});

const sentinel = z.strictObject({
  topology: z.literal("sentinel"),
  /** Some or all of the sentinels; the client asks them where the primary is. */
  sentinels: z.array(hostPort).min(1, "at least one sentinel address is needed"),
  /** The name the sentinels monitor the primary under (`sentinel monitor <name> ...`). */
  masterName: z.string().min(1),
  /** ACL user and password of the data nodes (primary and replicas). */
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** The sentinels' own ACL user and password, when they have one (`requirepass` in sentinel.conf). */
  sentinelUsername: z.string().min(1).optional(),
  sentinelPassword: z.string().min(1).optional(),
  db: z.int().nonnegative().default(0),
  /** TLS to the data nodes and, separately, to the sentinels. */
  tls,
  sentinelTls: tls,
  ...replicaAcks,
  replicaAcks: replicaAcks.replicaAcks.default(1),
});

const cluster = z.strictObject({
  topology: z.literal("cluster"),
  /** Some of the cluster's nodes; the client learns the rest (CLUSTER SLOTS) and follows MOVED/ASK. */
  nodes: z.array(hostPort).min(1, "at least one seed node is needed"),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  tls,
  /** Redirections (MOVED/ASK) and TRYAGAIN retries one command may follow before it fails. */
  maxRedirections: z.int().positive().default(16),
  /** Wait before retrying a command the cluster answered CLUSTERDOWN (a failover under way). */
  retryDelayOnClusterDownMs: z.int().nonnegative().default(100),
  ...replicaAcks,
  replicaAcks: replicaAcks.replicaAcks.default(1),
});

export const redisTopologySchema = z.discriminatedUnion("topology", [single, sentinel, cluster]);

export type RedisTopology = z.infer<typeof redisTopologySchema>;
export type RedisTls = z.infer<typeof tls>;

/**
 * The topology a store section names: `store.redis`, or the older `store.redisUrl` shorthand for a single
 * Redis. The schema refuses both at once and neither with kind redis, so this only fails on a memory store.
 */
export function redisTopologyOf(store: {
  readonly redisUrl?: string | undefined;
  readonly redis?: RedisTopology | undefined;
}): RedisTopology {
  if (store.redis !== undefined) return store.redis;
  if (store.redisUrl !== undefined && store.redisUrl !== "") return singleRedis(store.redisUrl);
  throw new Error("store.kind is redis but neither store.redis nor store.redisUrl is set");
}

/** A single Redis by URL with the schema's defaults (the redisUrl shorthand, tests and tools). */
export function singleRedis(url: string): RedisTopology {
  return { topology: "single", url, replicaAcks: 0, replicaAckTimeoutMs: 100 };
}
