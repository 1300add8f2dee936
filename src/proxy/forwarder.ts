import type { Agent, ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";
import { createProxyMiddleware, type RequestHandler } from "http-proxy-middleware";
import type { Clock } from "../clock.js";
import { downstreamHeaders, upstreamRemovals } from "./headers.js";
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
}

interface Job {
  readonly mode: "buffer" | "stream";
  readonly options: ForwardOptions;
  readonly startedMs: number;
  readonly resolve: (answer: UpstreamAnswer) => void;
  readonly reject: (err: UpstreamError) => void;
  timer: NodeJS.Timeout | undefined;
  proxyReq: ClientRequest | undefined;
  timedOut: boolean;
  settled: boolean;
}

export interface ForwarderSettings {
  readonly baseUrl: string;
  readonly agent: Agent | HttpsAgent;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Largest answer read into memory (submit/status answers are small). */
  readonly maxAnswerBytes: number;
  readonly clock: Clock;
}

/**
 * Forwards one request to APIXO through http-proxy-middleware, with keep-alive and without re-serialising
 * anything. `exchange` buffers the (small) answer for the caller to read and send; `stream` pipes it through.
 */
export class Forwarder {
  private readonly jobs = new WeakMap<IncomingMessage, Job>();
  /** The request's own `pipe`, kept across exchanges: a retried GET is sent again through the same `req`. */
  private readonly pipes = new WeakMap<IncomingMessage, IncomingMessage["pipe"]>();
  private readonly proxy: RequestHandler;

  constructor(private readonly settings: ForwarderSettings) {
    this.proxy = createProxyMiddleware({
      target: settings.baseUrl,
      changeOrigin: true,
      agent: settings.agent,
      selfHandleResponse: true,
      xfwd: false,
      ejectPlugins: true,
      plugins: [
        (server) => {
          server.on("proxyRes", (proxyRes, req, res) => {
            this.onResponse(proxyRes, req, res);
          });
          server.on("error", (err, req) => {
            this.fail(req, err);
          });
          server.on("econnreset", (err, req) => {
            this.fail(req, err);
          });
        },
      ],
    });
  }

  /** Sends the request and resolves with APIXO's whole answer; rejects with UpstreamError. */
  exchange(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): Promise<UpstreamAnswer> {
    return this.start("buffer", req, res, options);
  }

  /** Sends the request and pipes APIXO's answer to the client as it arrives. */
  async stream(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): Promise<number> {
    const answer = await this.start("stream", req, res, options);
    return answer.status;
  }

  private start(
    mode: Job["mode"],
    req: IncomingMessage,
    res: ServerResponse,
    options: ForwardOptions,
  ): Promise<UpstreamAnswer> {
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const job: Job = {
        mode,
        options,
        startedMs: this.settings.clock.monotonicMs(),
        resolve,
        reject,
        timer: undefined,
        proxyReq: undefined,
        timedOut: false,
        settled: false,
      };
      this.jobs.set(req, job);
      this.prepareRequest(req, job);
      job.timer = setTimeout(() => {
        job.timedOut = true;
        job.proxyReq?.destroy();
        this.fail(req, new Error("timeout"));
      }, options.timeoutMs ?? this.settings.timeoutMs);
      void this.proxy(req, res, () => {
        this.fail(req, new Error("proxy declined the request"));
      });
    });
  }

  /**
   * Headers are rewritten on `req` itself because http-proxy copies them synchronously when it builds the
   * upstream request; its `proxyReq` event can fire after the body was already flushed (queued sockets).
   */
  private prepareRequest(req: IncomingMessage, job: Job): void {
    for (const name of upstreamRemovals(req.headers)) Reflect.deleteProperty(req.headers, name);
    req.headers.authorization = `Bearer ${job.options.upstreamKey}`;
    req.headers["x-request-id"] = job.options.requestId;
    // A buffered answer is read by the gateway (task id, state), so it must arrive uncompressed; streamed
    // answers pass through as the client negotiated them.
    if (job.mode === "buffer") req.headers["accept-encoding"] = "identity";
    const body = job.options.body;
    if (body !== undefined) req.headers["content-length"] = String(body.length);

    // http-proxy pipes `req` into the upstream request; the body was already read, so hand over its bytes.
    const pipeThrough = this.pipes.get(req) ?? req.pipe.bind(req);
    this.pipes.set(req, pipeThrough);
    req.pipe = <T extends NodeJS.WritableStream>(destination: T): T => {
      const proxyReq = destination as unknown as ClientRequest;
      job.proxyReq = proxyReq;
      proxyReq.once("socket", (socket: Socket) => {
        this.watchConnect(req, job, socket);
      });
      if (body === undefined) return pipeThrough(destination);
      proxyReq.end(body);
      return destination;
    };
  }

  private watchConnect(req: IncomingMessage, job: Job, socket: Socket): void {
    if (!socket.connecting) return;
    const timer = setTimeout(() => {
      const err = Object.assign(new Error("connect timeout"), { code: "ECONNECT_TIMEOUT" });
      job.proxyReq?.destroy(err);
      this.fail(req, err);
    }, this.settings.connectTimeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
    });
    socket.once("close", () => {
      clearTimeout(timer);
    });
  }

  private onResponse(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
    const job = this.jobs.get(req);
    if (job === undefined || job.settled) {
      proxyRes.resume();
      return;
    }
    const status = proxyRes.statusCode ?? 502;
    if (job.mode === "stream") {
      res.writeHead(status, { ...downstreamHeaders(proxyRes.headers), ...job.options.responseHeaders });
      proxyRes.pipe(res);
      proxyRes.once("end", () => {
        this.succeed(req, job, { status, headers: proxyRes.headers, body: Buffer.alloc(0) });
      });
      proxyRes.once("error", (err) => {
        res.destroy();
        this.fail(req, err);
      });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    proxyRes.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.settings.maxAnswerBytes) {
        proxyRes.destroy();
        this.fail(
          req,
          new UpstreamError("bad_response", `upstream answer over ${this.settings.maxAnswerBytes} bytes`),
        );
        return;
      }
      chunks.push(chunk);
    });
    proxyRes.once("end", () => {
      this.succeed(req, job, { status, headers: proxyRes.headers, body: Buffer.concat(chunks, size) });
    });
    proxyRes.once("error", (err) => {
      this.fail(req, err);
    });
    proxyRes.once("aborted", () => {
      this.fail(req, new Error("upstream aborted the answer"));
    });
  }

  private succeed(req: IncomingMessage, job: Job, answer: Omit<UpstreamAnswer, "upstreamMs">): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    this.jobs.delete(req);
    job.resolve({ ...answer, upstreamMs: this.settings.clock.monotonicMs() - job.startedMs });
  }

  private fail(req: IncomingMessage, err: unknown): void {
    const job = this.jobs.get(req);
    if (job === undefined || job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    this.jobs.delete(req);
    job.reject(UpstreamError.classify(err, job.timedOut));
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
