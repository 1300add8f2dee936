import {
  createServer,
  maxHeaderSize,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors/catalog.js";
import type { Logger } from "../telemetry/logger.js";
import type { PublicApp } from "./app.js";
import { protocolError, rawErrorResponse } from "./protocolErrors.js";

export interface PublicServerSettings {
  readonly keepAliveTimeoutMs: number;
  /** From a request's first byte until its headers are complete (slowloris). */
  readonly headersTimeoutMs: number;
  /** From a request's first byte until all of it, body included, has arrived (slow bodies). */
  readonly requestTimeoutMs: number;
}

/** How long a refused connection may still read our answer before it is destroyed. */
const LINGER_MS = 1_000;

/**
 * The public HTTP server: slow-client timeouts a reverse proxy would ship, and every answer in the envelope,
 * including the ones Node writes itself (parser errors, 408, 431, an unmet Expect).
 */
export function createPublicServer(
  app: PublicApp,
  settings: PublicServerSettings,
  deps: { readonly logger: Logger; readonly clock: Clock },
): Server {
  const server = createServer(
    {
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      // Node checks both timeouts on this interval (30 s by default, which let slow clients hold a connection
      // for a minute past its timeout): a few checks per timeout keeps the cut close to the configured value.
      connectionsCheckingInterval: checkingIntervalMs(settings),
      // Answered in the envelope by the app instead (protocolErrors.ts requestProblem).
      requireHostHeader: false,
    },
    app.handle,
  );
  const exchanges = trackExchanges(server);
  const answered = new WeakSet<Duplex>();

  server.on("clientError", (err: Error & { code?: string }, socket: Duplex) => {
    // Node may report more than one error for a connection it is giving up on; one answer is enough.
    if (answered.has(socket)) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    const exchange = exchanges.get(socket);
    const error = protocolError(err, { bodyArriving: exchange !== undefined, ...settings }, maxHeaderSize);
    // No answer can be written when the client is gone, when this request was answered already, or when the
    // error is about a later (pipelined) request while an earlier one still awaits its answer: bytes written
    // now would be read as that earlier answer.
    if (
      error === undefined ||
      !socket.writable ||
      exchange?.res.headersSent === true ||
      exchange?.req.complete === true
    ) {
      socket.destroy();
      return;
    }
    deps.logger.info(
      { event: "protocol_error", code: err.code, status: error.status },
      "refused a request that is not valid HTTP or did not arrive in time",
    );
    if (exchange === undefined) {
      socket.end(rawErrorResponse(error, deps.clock.now()));
      destroyLater(socket);
      return;
    }
    // The request is being handled (its body was arriving): it is answered through its own response, with its
    // request id and audit line, and nothing more of its body reaches the handler, so it is never forwarded.
    socket.pause();
    exchange.res.setHeader("Connection", "close");
    exchange.res.once("finish", () => {
      destroyLater(socket);
    });
    app.refuse(exchange.req, exchange.res, error);
  });

  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    app.refuse(
      req,
      res,
      new GatewayError("INVALID_REQUEST", "The only Expect the gateway meets is 100-continue.", {
        status: 417,
      }),
    );
  });
  // Without a listener Node drops a CONNECT without a word; the gateway is no forward proxy and says so.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    const error = new GatewayError("NOT_FOUND", "The gateway is not a forward proxy: CONNECT is not served.");
    socket.end(rawErrorResponse(error, deps.clock.now()));
    destroyLater(socket);
  });
  return server;
}

function checkingIntervalMs(settings: PublicServerSettings): number {
  const shortest = Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs);
  return Math.max(10, Math.min(1_000, Math.floor(shortest / 4)));
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** The request each connection is handling until it has both arrived whole and been answered. */
function trackExchanges(server: Server): WeakMap<Duplex, Exchange> {
  const exchanges = new WeakMap<Duplex, Exchange>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket: Socket = req.socket;
    const exchange = { req, res };
    exchanges.set(socket, exchange);
    const done = (): void => {
      if (req.complete && res.writableFinished && exchanges.get(socket) === exchange)
        exchanges.delete(socket);
    };
    req.once("end", done);
    res.once("finish", done);
  });
  return exchanges;
}

/** Ends after our answer is read; destroyed regardless after a moment, so a refused client cannot hold it. */
function destroyLater(socket: Duplex): void {
  socket.end();
  setTimeout(() => {
    socket.destroy();
  }, LINGER_MS).unref();
}
