/** The shapes and builders the bad-input table (../badInputCases.ts) is written with. */

export type Endpoint = "submit" | "status" | "balance" | "callback" | "other";

export interface CaseContext {
  /** `Bearer <key>` of a tenant of the harness. */
  readonly auth: (tenant: string) => string;
  /** A well-formed callback token of tenant acme that no task was ever given. */
  readonly unknownToken: string;
}

/** A request sent with node:http: the path exactly as written. */
export interface HttpSend {
  readonly kind: "http";
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** The tenant whose key is sent (default acme); null sends no Authorization. */
  readonly tenant?: string | null;
}

/** Bytes over a bare socket, for what no HTTP client sends. */
export interface SocketSend {
  readonly kind: "socket";
  readonly pieces: readonly (string | Buffer)[];
}

export interface BadCase {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly send: (ctx: CaseContext) => HttpSend | SocketSend;
  readonly status: number;
  readonly type: string;
  readonly message: RegExp;
}

export const GOOD_BODY = '{"input":{"prompt":"a lighthouse at dawn"}}';
export const SUBMIT = "/api/v1/generateTask/nano-banana";
export const STATUS = "/api/v1/statusTask/nano-banana";
export const BALANCE = "/api/v1/apikeys/current-balance";
export const PATHS: Readonly<Record<Exclude<Endpoint, "other">, string>> = {
  submit: SUBMIT,
  status: `${STATUS}?taskId=task_12345678`,
  balance: BALANCE,
  callback: "/callbacks/apixo/acme.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};
export const METHODS: Readonly<Record<Exclude<Endpoint, "other">, string>> = {
  submit: "POST",
  status: "GET",
  balance: "GET",
  callback: "POST",
};

export const INVALID = "INVALID_REQUEST";
export const SPELLING = /the gateway takes APIXO's spelling only/;

export function http(send: Omit<HttpSend, "kind">): () => HttpSend {
  return () => ({ kind: "http", ...send });
}

export const post = (path: string, extra: Partial<HttpSend> = {}): (() => HttpSend) =>
  http({ method: "POST", path, body: GOOD_BODY, headers: { "content-type": "application/json" }, ...extra });
export const get = (path: string, extra: Partial<HttpSend> = {}): (() => HttpSend) =>
  http({ method: "GET", path, ...extra });

/** A submit of these body bytes. */
export const body = (bytes: string | Buffer, headers: Record<string, string> = {}): (() => HttpSend) =>
  http({
    method: "POST",
    path: SUBMIT,
    body: bytes,
    headers: { "content-type": "application/json", ...headers },
  });

/** A request head for raw sockets, with the acme key and the header lines given (each ending in CRLF). */
export function head(
  ctx: CaseContext,
  endpoint: Exclude<Endpoint, "other">,
  lines: string,
  path?: string,
): string {
  return (
    `${METHODS[endpoint]} ${path ?? PATHS[endpoint]} HTTP/1.1\r\nHost: gw\r\n` +
    `Authorization: ${ctx.auth("acme")}\r\nContent-Type: application/json\r\n${lines}\r\n`
  );
}

export function socket(
  pieces: (ctx: CaseContext) => readonly (string | Buffer)[],
): (ctx: CaseContext) => SocketSend {
  return (ctx) => ({ kind: "socket", pieces: pieces(ctx) });
}
