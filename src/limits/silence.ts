import { toStoreError, type RedisConnection } from "./redisClient.js";
import { StoreUnavailable } from "./store.js";

export interface SilenceGuardOptions {
  /** A command fails when Redis has sent nothing at all for this long while it waits. */
  readonly silenceMs: number;
  /** Monotonic milliseconds. */
  readonly nowMs: () => number;
  /**
   * Whether silence drops the connection (default true). Not on a Cluster: there the commands out may be
   * waiting, by design, between a TRYAGAIN or CLUSTERDOWN reply and their retry (a resharding, a failover),
   * replies this guard does not see, and dropping the client would make it re-learn the whole cluster;
   * ioredis' own per-command timeout bounds a stalled node instead (gateway/storeFactory.ts).
   */
  readonly dropOnSilence?: boolean;
}

/**
 * Times store commands out only when the connection has gone silent.
 *
 * A per-command timer (ioredis `commandTimeout`) measures the gateway's own queueing too: under a burst the
 * event loop runs expired timers before it reads the replies already waiting in the socket, so a healthy
 * Redis looked down (issue 12: 31-83 % of 1,000 concurrent submits got 503 on default settings). Here one
 * watchdog runs while commands are out; when it fires it first lets the event loop read what has arrived
 * (setImmediate runs after the poll phase), and only if Redis has answered nothing for `silenceMs` since the
 * oldest command out was sent does it give up: replies on one connection come in order, so while any arrive,
 * every command is coming. Giving up drops the connection, which fails every command on it at once (they may
 * still run in Redis: a tombstone voids a late admission) and makes a new one, as a half-open TCP connection
 * would otherwise swallow commands for minutes.
 *
 * ioredis offers no such timeout, hence this class.
 */
export class SilenceGuard {
  /** When Redis last said anything (a reply, or the ready check of a new connection). */
  private lastReplyMs: number;
  /** Commands sent and not yet answered, and when the first of them went out while none was. */
  private outstanding = 0;
  private quietSinceMs = 0;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: SilenceGuardOptions,
  ) {
    this.lastReplyMs = options.nowMs();
    redis.on("ready", () => {
      this.lastReplyMs = options.nowMs();
    });
  }

  run<T>(operation: string, send: () => Promise<T>): Promise<T> {
    if (this.redis.status !== "ready") {
      // ioredis (offline queue off) would refuse it unsent; saying so here keeps `maybeApplied` exact.
      return Promise.reject(
        new StoreUnavailable(
          `governance store unavailable (${operation}): not connected (${this.redis.status})`,
          {
            maybeApplied: false,
          },
        ),
      );
    }
    if (this.outstanding === 0) this.quietSinceMs = this.options.nowMs();
    this.outstanding += 1;
    if (this.options.dropOnSilence !== false) this.arm();
    return send().then(
      (value) => {
        this.answered();
        return value;
      },
      (err: unknown) => {
        // A reply error is Redis speaking; a dropped connection is not.
        if (err instanceof Error && err.name === "ReplyError") this.answered();
        else this.outstanding = Math.max(0, this.outstanding - 1);
        throw toStoreError(err, operation);
      },
    );
  }

  private answered(): void {
    this.lastReplyMs = this.options.nowMs();
    this.outstanding = Math.max(0, this.outstanding - 1);
  }

  /** Checks after `delayMs`, once the event loop has read what arrived meanwhile (setImmediate). */
  private arm(delayMs = this.options.silenceMs): void {
    if (this.watchdog !== undefined) return;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      setImmediate(() => {
        this.check();
      });
    }, delayMs);
    this.watchdog.unref();
  }

  private check(): void {
    if (this.outstanding === 0) return;
    const quietMs = this.options.nowMs() - Math.max(this.lastReplyMs, this.quietSinceMs);
    if (quietMs < this.options.silenceMs) {
      this.arm(this.options.silenceMs - quietMs);
      return;
    }
    // Silent: every command on this connection fails now (ioredis rejects them as the connection closes),
    // and a new connection is made; commands sent meanwhile are refused unsent until it is ready.
    this.outstanding = 0;
    // A client already reconnecting has dropped them itself; disconnecting it mid-connect (a Sentinel
    // asking where the primary is) would end it for good.
    if (this.redis.status === "ready") this.redis.disconnect(true);
  }
}
