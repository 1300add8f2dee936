import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { singleRedis, type RedisTls, type RedisTopology } from "../config/redis.js";
import { StoreUnavailable } from "./store.js";

/** Replies that mean "Redis cannot serve right now" rather than "our script is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|OOM|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|MOVED|ASK)\b/;

/**
 * Replies of a store that cannot run the scripts at all (a sentinel or the wrong server behind the address,
 * an ACL without EVAL or the keys): a deployment fault, not a script bug, and nothing was applied. Readiness
 * names it (storeProbe.ts).
 */
const MISCONFIGURED = /^(NOPERM|NOAUTH|WRONGPASS|ERR unknown command)\b/;

/**
 * ioredis refuses a command it did not send (offline queue off, not connected; a Cluster not ready, e.g.
 * while it learns a failover's new slot map) with these words.
 */
const NOT_SENT = "enableOfflineQueue options is false";

/**
 * Connection loss, timeouts and transient replies become StoreUnavailable; a script bug stays a bug. A
 * transient reply or a command refused unsent was not applied; a connection lost mid-command may have been.
 */
export function toStoreError(err: unknown, operation: string): Error {
  if (err instanceof StoreUnavailable) return err;
  const isReply = err instanceof Error && err.name === "ReplyError";
  if (isReply && !TRANSIENT_REPLY.test(err.message) && !MISCONFIGURED.test(err.message)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new StoreUnavailable(`governance store unavailable (${operation}): ${reason}`, {
    cause: err,
    maybeApplied: !isReply && !reason.includes(NOT_SENT),
  });
}

export interface RedisClientOptions {
  /**
   * ioredis's own per-command timeout, for background clients; the governance store leaves it unset and
   * times commands out only on a silent connection (silence.ts).
   */
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Connection errors are reported here; without a listener ioredis would crash the process on 'error'. */
  readonly onError?: (err: Error) => void;
  /** Longest pause between reconnect attempts. */
  readonly maxReconnectDelayMs?: number;
}

/** A client of any topology: ioredis' Cluster speaks the same commands as its Redis. */
export type RedisConnection = Redis | Cluster;

function tlsOptions(tls: RedisTls): ConnectionOptions | undefined {
  if (tls === false) return undefined;
  if (tls === true) return {};
  return {
    ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}

/** What every connection shares: fail fast while disconnected, reconnect forever with capped backoff. */
function nodeOptions(options: RedisClientOptions): RedisOptions {
  const maxDelayMs = options.maxReconnectDelayMs ?? 1000;
  return {
    enableOfflineQueue: false,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
    connectTimeout: options.connectTimeoutMs ?? Math.max(options.commandTimeoutMs ?? 0, 1000),
    maxRetriesPerRequest: 0,
    lazyConnect: false,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelayMs),
    // A failover can leave us on a replica: reconnect so writes reach the new primary.
    reconnectOnError: (err) => err.message.startsWith("READONLY"),
  };
}

function build(topology: RedisTopology, options: RedisClientOptions): RedisConnection {
  const base = nodeOptions(options);
  switch (topology.topology) {
    case "single":
      // rediss:// turns TLS on by itself (ioredis), with the system's CAs.
      return new Redis(topology.url, base);
    case "sentinel": {
      const tls = tlsOptions(topology.tls);
      const sentinelTls = tlsOptions(topology.sentinelTls);
      return new Redis({
        ...base,
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.masterName,
        db: topology.db,
        ...(topology.username === undefined ? {} : { username: topology.username }),
        ...(topology.password === undefined ? {} : { password: topology.password }),
        ...(topology.sentinelUsername === undefined ? {} : { sentinelUsername: topology.sentinelUsername }),
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
        ...(tls === undefined ? {} : { tls, enableTLSForSentinelMode: true }),
        ...(sentinelTls === undefined ? {} : { sentinelTLS: sentinelTls }),
        // No failover detector: its disconnect can land while a reconnect is asking the sentinels, and ioredis
        // then ends the client for good (seen in money.sentinel.test.ts). The reconnect that follows a dead
        // primary asks the sentinels anyway, and READONLY (a demoted primary) reconnects too.
        failoverDetector: false,
      });
    }
    case "cluster": {
      const tls = tlsOptions(topology.tls);
      const { retryStrategy, ...perNode } = base;
      return new Cluster(
        topology.nodes.map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: false,
          enableReadyCheck: true,
          maxRedirections: topology.maxRedirections,
          retryDelayOnClusterDown: topology.retryDelayOnClusterDownMs,
          retryDelayOnTryAgain: topology.retryDelayOnClusterDownMs,
          retryDelayOnFailover: topology.retryDelayOnClusterDownMs,
          clusterRetryStrategy: (attempt) => retryStrategy?.(attempt) ?? 1000,
          // Managed TLS clusters announce IPs their certificates do not name: connect by the name given.
          ...(tls === undefined ? {} : { dnsLookup: (address, callback) => callback(null, address) }),
          redisOptions: {
            ...perNode,
            ...(topology.username === undefined ? {} : { username: topology.username }),
            ...(topology.password === undefined ? {} : { password: topology.password }),
            ...(tls === undefined ? {} : { tls }),
          },
        },
      );
    }
  }
}

/**
 * A client that fails fast and heals itself: while disconnected commands reject at once instead of queueing,
 * and reconnection continues forever with capped backoff. A URL is a single Redis (tests and tools).
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis;
export function createRedisClient(topology: RedisTopology, options: RedisClientOptions): RedisConnection;
export function createRedisClient(
  target: string | RedisTopology,
  options: RedisClientOptions,
): RedisConnection {
  const topology = typeof target === "string" ? singleRedis(target) : target;
  const client = build(topology, options);
  const onError = options.onError;
  client.on("error", (err: Error) => {
    onError?.(err);
  });
  return client;
}

/** Resolves once the client can take commands; with the offline queue off, earlier commands would fail. */
export async function waitForRedisReady(client: RedisConnection, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new Error(`redis not ready within ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", onReady);
  });
}
