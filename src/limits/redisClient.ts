import { Redis } from "ioredis";
import { StoreUnavailable } from "./store.js";

/** Replies that mean "Redis cannot serve right now" rather than "our script is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|OOM|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|MOVED|ASK)\b/;

/** ioredis refuses a command it did not send (offline queue off, not connected) with this message. */
const NOT_SENT = "Stream isn't writeable";

/**
 * Connection loss, timeouts and transient replies become StoreUnavailable; a script bug stays a bug. A
 * transient reply or a command refused unsent was not applied; a connection lost mid-command may have been.
 */
export function toStoreError(err: unknown, operation: string): Error {
  if (err instanceof StoreUnavailable) return err;
  const isReply = err instanceof Error && err.name === "ReplyError";
  if (isReply && !TRANSIENT_REPLY.test(err.message)) return err;
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

/**
 * A client that fails fast and heals itself: while disconnected commands reject at once instead of queueing,
 * and reconnection continues forever with capped backoff.
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const maxDelayMs = options.maxReconnectDelayMs ?? 1000;
  const client = new Redis(url, {
    enableOfflineQueue: false,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
    connectTimeout: options.connectTimeoutMs ?? Math.max(options.commandTimeoutMs ?? 0, 1000),
    maxRetriesPerRequest: 0,
    lazyConnect: false,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelayMs),
    // A failover can leave us on a replica: reconnect so writes reach the new primary.
    reconnectOnError: (err) => err.message.startsWith("READONLY"),
  });
  const onError = options.onError;
  client.on("error", (err: Error) => {
    onError?.(err);
  });
  return client;
}

/** Resolves once the client can take commands; with the offline queue off, earlier commands would fail. */
export async function waitForRedisReady(client: Redis, timeoutMs: number): Promise<void> {
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
