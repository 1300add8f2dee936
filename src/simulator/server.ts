import { STATUS_CODES, createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { findModel } from "../apixo/models.js";
import { systemClock } from "../clock.js";
import { Accounts } from "./accounts.js";
import { readBody } from "./body.js";
import { CallbackSender } from "./callbacks.js";
import { CONTROL_PREFIX, handleControl } from "./control.js";
import type { ControlContext } from "./control.js";
import { envelope, errorReply, send } from "./envelope.js";
import type { Reply } from "./envelope.js";
import { Faults } from "./faults.js";
import { balance, generateTask, statusTask } from "./handlers.js";
import type { HandlerContext } from "./handlers.js";
import { defaultPriceMicros } from "./pricing.js";
import { bearerKey, route } from "./routes.js";
import type { Route } from "./routes.js";
import { StatsRecorder } from "./stats.js";
import type { SimTask } from "./tasks.js";
import type { FaultAction, Simulator, SimulatorOptions } from "./types.js";

const GARBAGE_BODY = "<html><body>502 Bad Gateway</body></html> {not json";

interface ApiRequest {
  readonly method: string;
  readonly pathname: string;
  readonly query: string;
  readonly key: string | undefined;
  readonly target: Route;
  readonly body: Buffer;
}

function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

class SimulatorServer implements Simulator {
  readonly faults: Faults;
  readonly stats: StatsRecorder;
  private readonly ctx: HandlerContext;
  private readonly server: Server;
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private readonly control: ControlContext;
  private baseUrl: string | undefined;

  constructor(options: SimulatorOptions) {
    const clock = options.clock ?? systemClock;
    this.faults = new Faults(options.random);
    const processing = options.processingMs;
    this.stats = new StatsRecorder(options.maxRecordedRequests ?? 10_000);
    this.control = {
      faults: this.faults,
      stats: this.stats,
      reset: () => {
        this.reset();
      },
    };
    this.ctx = {
      clock,
      accounts: new Accounts(options.keys),
      tasks: new Map<string, SimTask>(),
      stats: this.stats,
      callbacks: new CallbackSender(
        {
          retryDelaysMs: options.callbackRetryDelaysMs ?? [1000, 2000, 4000],
          duplicates: options.callbackDuplicates ?? 0,
        },
        (callback) => {
          this.stats.recordCallback(callback);
        },
      ),
      pendingMs: options.pendingMs ?? 1000,
      processingMs:
        typeof processing === "function"
          ? processing
          : (model) => processing ?? findModel(model)?.typicalMs ?? 0,
      priceMicros: options.priceMicros ?? defaultPriceMicros,
      callbackDelayMs: options.callbackDelayMs ?? 0,
    };
    this.server = createServer((req, res) => {
      readBody(req, (body, tooLarge) => {
        this.handle(req, res, body, tooLarge);
      });
    });
    // Longer than any client's idle timeout, so the client (not the simulator) decides when to drop a connection.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on("connection", () => {
      this.stats.connections += 1;
    });
  }

  get url(): string {
    if (this.baseUrl === undefined) throw new Error("The simulator is not listening; call listen() first.");
    return this.baseUrl;
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    const address = await listenOn(this.server, port, host);
    const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${hostPart}:${address.port}`;
    return this.baseUrl;
  }

  close(): Promise<void> {
    this.ctx.callbacks.cancelAll();
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => {
        resolve();
      });
      // Hung requests and idle keep-alive sockets would otherwise hold close() open.
      this.server.closeAllConnections();
    });
  }

  balanceUsd(key: string): number {
    return (this.ctx.accounts.balanceMicros(key, this.ctx.clock.now()) ?? 0) / 1e6;
  }

  reset(): void {
    this.ctx.callbacks.cancelAll();
    this.ctx.tasks.clear();
    this.ctx.accounts.reset();
    this.stats.reset();
    this.faults.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer, tooLarge: boolean): void {
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    const queryAt = rawUrl.indexOf("?");
    const pathname = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    if (pathname.startsWith(CONTROL_PREFIX)) {
      send(res, handleControl(this.control, method, pathname, body));
      return;
    }
    const target = route(pathname);
    const at = this.ctx.clock.now();
    this.stats.recordRequest({
      method,
      path: rawUrl,
      endpoint: target.endpoint,
      headers: req.headers,
      body,
      at,
    });
    if (tooLarge) {
      send(res, errorReply(413, "Request body too large (limit 10 MB)"));
      return;
    }
    const request: ApiRequest = {
      method,
      pathname,
      query: queryAt === -1 ? "" : rawUrl.slice(queryAt + 1),
      key: bearerKey(req.headers.authorization),
      target,
      body,
    };
    const canonical = findModel(target.model)?.id;
    const names = canonical === undefined ? [target.model] : [target.model, canonical];
    const action = this.faults.take(target.endpoint, names);
    if (action === undefined) send(res, this.answer(request));
    else this.applyFault(action, req, res, request);
  }

  /** Faults are applied before auth and validation: they stand for trouble in front of APIXO's logic. */
  private applyFault(
    action: FaultAction,
    req: IncomingMessage,
    res: ServerResponse,
    request: ApiRequest,
  ): void {
    switch (action.kind) {
      case "status": {
        const body = action.body ?? envelope(action.status, STATUS_CODES[action.status] ?? "Fault", null);
        send(res, { status: action.status, body, ...(action.headers && { headers: action.headers }) });
        break;
      }
      case "delay": {
        const timer = setTimeout(() => {
          this.delayTimers.delete(timer);
          if (!req.socket.destroyed) send(res, this.answer(request));
        }, action.ms);
        this.delayTimers.add(timer);
        break;
      }
      case "reset":
        req.socket.destroy();
        break;
      case "garbage":
        // Labelled JSON on purpose: a client must not trust Content-Type alone.
        send(res, { status: 200, body: GARBAGE_BODY });
        break;
      case "hang":
        break;
    }
  }

  private answer(request: ApiRequest): Reply {
    const { key, target } = request;
    if (key === undefined || !this.ctx.accounts.has(key))
      return errorReply(401, "Invalid or missing API key");
    const notFound = errorReply(404, `Not found: ${request.method} ${request.pathname}`);
    if (request.method !== target.method) return notFound;
    switch (target.endpoint) {
      case "generateTask":
        return generateTask(this.ctx, key, target.model, request.body);
      case "statusTask":
        return statusTask(this.ctx, key, target.model, request.query);
      case "balance":
        return balance(this.ctx, key);
      case "other":
        return notFound;
    }
  }
}

export function createSimulator(options: SimulatorOptions): Simulator {
  return new SimulatorServer(options);
}
