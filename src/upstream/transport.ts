import http, {
  type Agent,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import https, { type Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";
import type { Clock } from "../clock.js";
import type { UpstreamTarget } from "../http/governedRoutes.js";
import type { StoredAnswer } from "../limits/store.js";
import { injectTraceContext } from "../telemetry/spans.js";
import { downstreamHeaders, upstreamHeaders } from "./headers.js";
import { UpstreamError } from "./upstreamError.js";

export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly upstreamMs: number;
}

export interface ForwardOptions {
  /** Replaces the client's credentials; never logged. */
  readonly upstreamKey: string;
  readonly requestId: string;
  /** The exact bytes to send (already read from the client); omit to stream the client's body through. */
  readonly body?: Buffer;
  /** Extra response headers for the client (stream mode; buffered answers are written by the caller). */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** Overrides the whole-exchange timeout (what is left of the request's deadline, for a retry). */
  readonly timeoutMs?: number;
  /** The path and query APIXO is asked for, as the gateway decided them; omitted only for allowed paths. */
  readonly target?: UpstreamTarget;
}

/** Governed calls are always sent to a target the gateway built, never to the client's request URL. */
export type ExchangeOptions = ForwardOptions & { readonly target: UpstreamTarget };

export interface ForwarderSettings {
  readonly baseUrl: string;
  readonly agent: Agent | HttpsAgent;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Largest answer read into memory (submit/status answers are small). */
  readonly maxAnswerBytes: number;
  readonly clock: Clock;
}

type Mode = "buffer" | "stream";

/**
 * Forwards one request to APIXO over a keep-alive pool, without re-serialising anything. `exchange` buffers
 * the (small) answer for the caller to read and send; `stream` pipes it through.
 *
 * This used to be http-proxy-middleware. Every governed route reads the client's body and APIXO's answer
 * itself, so the proxy library only built the upstream request, and cost a tenth of the gateway's
 * allocations and listeners per request doing it (docs/benchmarks.md has the profile). Building the request
 * here is one `http.request` with the headers the gateway decides.
 */
export class Forwarder {
  private readonly secure: boolean;
  private readonly hostname: string;
  private readonly port: string;
  private readonly host: string;
  private readonly basePath: string;

  constructor(private readonly settings: ForwarderSettings) {
    const target = new URL(settings.baseUrl);
    this.secure = target.protocol === "https:";
    // URL keeps IPv6 literals in brackets; the socket wants the bare address.
    this.hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = target.port;
    this.host = target.host;
    this.basePath = target.pathname.replace(/\/+$/, "");
  }

  /** Sends the request and resolves with APIXO's whole answer; rejects with UpstreamError. */
  exchange(req: IncomingMessage, res: ServerResponse, options: ExchangeOptions): Promise<UpstreamAnswer> {
    return this.start("buffer", req, res, options);
  }

  /** Sends the request and pipes APIXO's answer to the client as it arrives. */
  async stream(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): Promise<number> {
    const answer = await this.start("stream", req, res, options);
    return answer.status;
  }

  private start(
    mode: Mode,
    req: IncomingMessage,
    res: ServerResponse,
    options: ForwardOptions,
  ): Promise<UpstreamAnswer> {
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

      let upstream: ClientRequest;
      try {
        upstream = (this.secure ? https : http).request({
          hostname: this.hostname,
          port: this.port,
          method: req.method,
          path: this.basePath + targetPath(options.target, req),
          headers: this.headersFor(req, mode, options),
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
      }, options.timeoutMs ?? this.settings.timeoutMs);
      upstream.once("socket", (socket: Socket) => {
        this.watchConnect(upstream, socket, fail);
      });
      upstream.on("error", fail);
      upstream.once("response", (answer: IncomingMessage) => {
        if (settled) answer.resume();
        else if (mode === "stream") this.pipeAnswer(answer, res, options, succeed, fail);
        else this.readAnswer(answer, succeed, fail);
      });

      if (options.body !== undefined) {
        upstream.end(options.body);
        return;
      }
      if (mode === "buffer") {
        // The governed GETs take no body: whatever a client sent along is dropped, never written unframed
        // onto a pooled connection.
        req.resume();
        upstream.end();
        return;
      }
      // Streamed body: a client that goes away mid-body must not leave a half-sent request upstream.
      req.once("close", () => {
        if (!req.complete) upstream.destroy(new Error("client aborted the request"));
      });
      req.pipe(upstream);
    });
  }

  private headersFor(req: IncomingMessage, mode: Mode, options: ForwardOptions): OutgoingHttpHeaders {
    const set: Record<string, string> = {
      host: this.host,
      authorization: `Bearer ${options.upstreamKey}`,
      "x-request-id": options.requestId,
    };
    // A buffered answer is read by the gateway (task id, state), so it must arrive uncompressed; streamed
    // answers pass through as the client negotiated them.
    if (mode === "buffer") {
      set["accept-encoding"] = "identity";
      // The governed calls continue the trace: `traceparent` of the active (upstream) span.
      injectTraceContext(set);
    }
    if (options.body !== undefined) set["content-length"] = String(options.body.length);
    // transfer-encoding is hop-by-hop, so it is dropped; a streamed chunked body is chunked again upstream
    // (Node would not frame a GET's body by itself, and unframed bytes would corrupt the pooled connection).
    else if (mode === "stream" && req.headers["transfer-encoding"] !== undefined) {
      set["transfer-encoding"] = "chunked";
    }
    return upstreamHeaders(req.headers, set);
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

  private pipeAnswer(
    answer: IncomingMessage,
    res: ServerResponse,
    options: ForwardOptions,
    succeed: (answer: Omit<UpstreamAnswer, "upstreamMs">) => void,
    fail: (err: unknown) => void,
  ): void {
    const status = answer.statusCode ?? 502;
    res.writeHead(status, { ...downstreamHeaders(answer.headers), ...options.responseHeaders });
    answer.pipe(res);
    answer.once("end", () => {
      succeed({ status, headers: answer.headers, body: EMPTY });
    });
    answer.on("error", (err) => {
      res.destroy();
      fail(err);
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

const EMPTY = Buffer.alloc(0);

function targetPath(target: UpstreamTarget | undefined, req: IncomingMessage): string {
  if (target === undefined) return originForm(req.url ?? "/");
  return target.query === "" ? target.path : `${target.path}?${target.query}`;
}

/**
 * The path and query an allowed path is forwarded to: an absolute-form target (`GET http://host/path`) must not choose
 * APIXO's virtual host, and a fragment is never sent.
 */
export function originForm(url: string): string {
  const hash = url.indexOf("#");
  const target = hash === -1 ? url : url.slice(0, hash);
  if (target.startsWith("/")) return target;
  try {
    const parsed = new URL(target);
    return parsed.pathname + parsed.search;
  } catch {
    return "/";
  }
}

/** Writes a buffered upstream answer to the client: APIXO's status and bytes, minus what must not pass. */
export function sendAnswer(
  res: ServerResponse,
  answer: Pick<UpstreamAnswer, "status" | "headers" | "body">,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(answer.status, {
    ...downstreamHeaders(answer.headers),
    ...extraHeaders,
    "content-length": String(answer.body.length),
  });
  res.end(answer.body);
}

/** What the ledger keeps of an answer to replay it later: status, content type and the exact bytes. */
export function toStored(answer: UpstreamAnswer): StoredAnswer {
  return {
    status: answer.status,
    contentType: answer.headers["content-type"] ?? "application/json",
    body: answer.body,
  };
}

/** A kept answer, byte for byte, with the headers that say where it came from. */
export function replay(
  res: ServerResponse,
  answer: StoredAnswer,
  headers: Readonly<Record<string, string>>,
): void {
  res.writeHead(answer.status, {
    ...headers,
    "content-type": answer.contentType,
    "content-length": String(answer.body.length),
  });
  res.end(answer.body);
}
