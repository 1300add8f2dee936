import type { IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";
import type { Clock } from "../clock.js";
import type { StoredAnswer } from "../limits/store.js";
import { UpstreamError } from "./upstreamError.js";

export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly upstreamMs: number;
}

/** One HTTP exchange with APIXO, every part of it decided by the gateway (no client request is involved). */
export interface Exchange {
  readonly method: "GET" | "POST";
  /** APIXO's path, e.g. `/api/v1/statusTask/flux2`. */
  readonly path: string;
  /** Already encoded, without `?`; "" for none. */
  readonly query: string;
  /** Every header to send but `host` and `content-length`, which the transport sets. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
  /** The whole exchange, headers and body of the answer included. */
  readonly timeoutMs: number;
}

export interface TransportSettings {
  readonly baseUrl: string;
  /** Connections kept to APIXO at most. */
  readonly connections: number;
  /** An idle connection is closed after this long (and sooner when APIXO's Keep-Alive hint says so). */
  readonly idleMs: number;
  readonly connectTimeoutMs: number;
  /** Largest answer read into memory (submit/status answers are small). */
  readonly maxAnswerBytes: number;
  readonly clock: Clock;
}

/**
 * Sends one request to APIXO over undici's keep-alive pool and reads the (small) answer whole.
 *
 * undici rather than node:http's Agent: measured on this machine it costs about a quarter less CPU per
 * exchange (docs/benchmarks.md, "The transport"), and its pool closes idle connections itself, below
 * APIXO's own keep-alive (its `Keep-Alive: timeout=N` hint is honoured), so a submit is never written onto a
 * connection the other side (or a load balancer between) has already dropped.
 */
export class Transport {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(private readonly settings: TransportSettings) {
    const target = new URL(settings.baseUrl);
    this.basePath = target.pathname.replace(/\/+$/, "");
    this.pool = new Pool(target.origin, {
      connections: settings.connections,
      keepAliveTimeout: settings.idleMs,
      keepAliveMaxTimeout: settings.idleMs,
      connect: { timeout: settings.connectTimeoutMs },
      // Read whole into memory: a bigger answer fails as unreadable (UND_ERR_RES_EXCEEDED_MAX_SIZE).
      maxResponseSize: settings.maxAnswerBytes,
      // One request per connection at a time: a submit must never queue behind another on a pipeline.
      pipelining: 1,
    });
  }

  /** Resolves with APIXO's whole answer; rejects with UpstreamError. */
  async exchange(exchange: Exchange): Promise<UpstreamAnswer> {
    const startedMs = this.settings.clock.monotonicMs();
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, exchange.timeoutMs);
    try {
      const answer = await this.pool.request({
        method: exchange.method,
        path: this.basePath + (exchange.query === "" ? exchange.path : `${exchange.path}?${exchange.query}`),
        headers: exchange.headers,
        body: exchange.body ?? null,
        signal: abort.signal,
        // The whole-exchange timer above is the deadline; undici's own per-phase timeouts stay out of its way.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      // Consumed whole by undici (no stream iterator per answer: a measured share of the allocation).
      const body = Buffer.from(await answer.body.arrayBuffer());
      return {
        status: answer.statusCode,
        headers: answer.headers,
        body,
        upstreamMs: this.settings.clock.monotonicMs() - startedMs,
      };
    } catch (err) {
      throw UpstreamError.classify(err, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** What the ledger keeps of an answer to replay it later: status, content type and the exact bytes. */
export function toStored(answer: UpstreamAnswer): StoredAnswer {
  const type = answer.headers["content-type"];
  return {
    status: answer.status,
    contentType: typeof type === "string" ? type : "application/json",
    body: answer.body,
  };
}
