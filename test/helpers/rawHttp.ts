import { request, type Agent, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RawRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
  readonly agent?: Agent;
}

/**
 * One request with node:http, the path sent exactly as written (a URL string or fetch would resolve dot
 * segments and drop fragments), and the answer's exact bytes. GET without a body, POST with one, by default.
 */
export function sendRaw(base: string, path: string, options: RawRequest = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path,
        method: options.method ?? (options.body === undefined ? "GET" : "POST"),
        headers: options.headers,
        agent: options.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    req.once("error", reject);
    req.end(options.body);
  });
}

export interface SocketAnswer {
  /** Everything the server wrote, as latin1 text. */
  readonly text: string;
  /** The first answer's status, undefined when the server wrote none. */
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The first answer's body (UTF-8), as its Content-Length frames it. */
  readonly body: string;
  /** Whether the server closed the connection (rather than the helper giving up after `timeoutMs`). */
  readonly closedByServer: boolean;
}

export interface SocketOptions {
  /** Pause between the pieces (a slow client); 0 writes them back to back. */
  readonly intervalMs?: number;
  /** Give up (and destroy the socket) after this long; the answer says whether the server closed first. */
  readonly timeoutMs?: number;
  /** Destroy the socket right after the last piece (a client that goes away). */
  readonly abortAfterLast?: boolean;
}

/**
 * Bytes over a bare TCP socket, for what no HTTP client will send: malformed framing, slow clients, aborts.
 * Pieces are written in order (stopping once the server has closed), and the answer is read until the server
 * closes or `timeoutMs` passes.
 */
export function sendOverSocket(
  base: string,
  pieces: readonly (string | Buffer)[],
  options: SocketOptions = {},
): Promise<SocketAnswer> {
  const { hostname, port } = new URL(base);
  const intervalMs = options.intervalMs ?? 0;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let done = false;
    const socket = connect(Number(port), hostname);
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(giveUp);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1"), closedByServer));
    };
    const giveUp = setTimeout(finish, options.timeoutMs ?? 5_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.once("end", () => {
      closedByServer = true;
    });
    socket.once("close", () => {
      if (!done) closedByServer = true;
      finish();
    });
    const write = async (): Promise<void> => {
      for (const piece of pieces) {
        if (socket.destroyed || closedByServer) return;
        socket.write(piece);
        if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
      }
      if (options.abortAfterLast === true) {
        // Let the bytes leave before the reset.
        await new Promise((r) => setTimeout(r, 50));
        socket.destroy();
      }
    };
    socket.once("connect", () => {
      void write();
    });
  });
}

function parseAnswer(text: string, closedByServer: boolean): SocketAnswer {
  const headEnd = text.indexOf("\r\n\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
  const headers: Record<string, string> = {};
  if (headEnd === -1) return { text, status: undefined, headers, body: "", closedByServer };
  for (const line of text.slice(0, headEnd).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = text.slice(headEnd + 4);
  const length = Number(headers["content-length"] ?? Number.NaN);
  // latin1 keeps one character per byte, so Content-Length slices it; the body itself is UTF-8.
  const body = Buffer.from(Number.isFinite(length) ? rest.slice(0, length) : rest, "latin1").toString("utf8");
  return { text, status: status === undefined ? undefined : Number(status), headers, body, closedByServer };
}
