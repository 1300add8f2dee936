import http, {
  type Agent,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from "node:http";
import https, { type Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";
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
  readonly agent: Agent | HttpsAgent;
  readonly connectTimeoutMs: number;
  /** Largest answer read into memory (submit/status answers are small). */
  readonly maxAnswerBytes: number;
  readonly clock: Clock;
}

/**
 * Sends one request to APIXO over a keep-alive pool and reads the (small) answer whole.
 *
 * One `http.request` with the headers the gateway decided: every governed route reads APIXO's answer itself,
 * and a proxy library here cost a tenth of the gateway's allocations per request (docs/benchmarks.md).
 * node:http rather than undici: measured in the gateway at 500 req/s, undici's pool cost more CPU per request
 * (docs/benchmarks.md, "The transport"). Idle pooled sockets are closed after the agent's `timeout` (below a
 * typical upstream's keep-alive), and Node's agent also honours an upstream's `Keep-Alive: timeout=N` hint,
 * so a submit is not written onto a connection the other side has already dropped (upstreamParts.ts builds
 * the agent).
 */
export class Transport {
  private readonly secure: boolean;
  private readonly hostname: string;
  private readonly port: string;
  private readonly host: string;
  private readonly basePath: string;

  constructor(private readonly settings: TransportSettings) {
    const target = new URL(settings.baseUrl);
    this.secure = target.protocol === "https:";
    // URL keeps IPv6 literals in brackets; the socket wants the bare address.
    this.hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = target.port;
    this.host = target.host;
    this.basePath = target.pathname.replace(/\/+$/, "");
  }

  /** Resolves with APIXO's whole answer; rejects with UpstreamError. */
  exchange(exchange: Exchange): Promise<UpstreamAnswer> {
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const startedMs = this.settings.clock.monotonicMs();
      let settled = false;
      let timedOut = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(UpstreamError.classify(err, timedOut));
      };
      const succeed = (answer: Omit<UpstreamAnswer, "upstreamMs">): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...answer, upstreamMs: this.settings.clock.monotonicMs() - startedMs });
      };

      const headers: Record<string, string> = { ...exchange.headers, host: this.host };
      if (exchange.body !== undefined) headers["content-length"] = String(exchange.body.length);
      let upstream: ClientRequest;
      try {
        upstream = (this.secure ? https : http).request({
          hostname: this.hostname,
          port: this.port,
          method: exchange.method,
          path:
            this.basePath + (exchange.query === "" ? exchange.path : `${exchange.path}?${exchange.query}`),
          headers,
          agent: this.settings.agent,
        });
      } catch (err) {
        fail(err);
        return;
      }
      const timer = setTimeout(() => {
        timedOut = true;
        upstream.destroy();
        fail(new Error("timeout"));
      }, exchange.timeoutMs);
      upstream.once("socket", (socket: Socket) => {
        this.watchConnect(upstream, socket, fail);
      });
      upstream.on("error", fail);
      upstream.once("response", (answer: IncomingMessage) => {
        if (settled) answer.resume();
        else this.readAnswer(answer, succeed, fail);
      });
      upstream.end(exchange.body);
    });
  }

  /** The agent is the composition root's (it serves the passthrough too): nothing of the transport's own to close. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private watchConnect(upstream: ClientRequest, socket: Socket, fail: (err: unknown) => void): void {
    if (!socket.connecting) return;
    const timer = setTimeout(() => {
      const err = Object.assign(new Error("connect timeout"), { code: "ECONNECT_TIMEOUT" });
      upstream.destroy(err);
      fail(err);
    }, this.settings.connectTimeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
    });
    socket.once("close", () => {
      clearTimeout(timer);
    });
  }

  private readAnswer(
    answer: IncomingMessage,
    succeed: (answer: Omit<UpstreamAnswer, "upstreamMs">) => void,
    fail: (err: unknown) => void,
  ): void {
    const chunks: Buffer[] = [];
    let size = 0;
    answer.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.settings.maxAnswerBytes) {
        // Failed first: destroying emits "aborted", which would otherwise be taken for a reset.
        fail(new UpstreamError("bad_response", `upstream answer over ${this.settings.maxAnswerBytes} bytes`));
        answer.destroy();
        return;
      }
      chunks.push(chunk);
    });
    answer.once("end", () => {
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
      succeed({ status: answer.statusCode ?? 502, headers: answer.headers, body });
    });
    answer.on("error", fail);
    answer.once("aborted", () => {
      fail(new Error("upstream aborted the answer"));
    });
  }
}

/** What the ledger keeps of an answer to replay it later: status, content type and the exact bytes. */
export function toStored(answer: UpstreamAnswer): StoredAnswer {
  return {
    status: answer.status,
    contentType: answer.headers["content-type"] ?? "application/json",
    body: answer.body,
  };
}
