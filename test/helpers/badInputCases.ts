/**
 * The bad-input table (test/integration/badInput.test.ts): requests a client probing the gateway would send to
 * the three governed endpoints and the callback receiver. Every one must get a 4xx in the envelope with a useful
 * message, reach nothing upstream and reserve nothing.
 */

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
const SUBMIT = "/api/v1/generateTask/nano-banana";
const STATUS = "/api/v1/statusTask/nano-banana";
const BALANCE = "/api/v1/apikeys/current-balance";
const PATHS: Readonly<Record<Exclude<Endpoint, "other">, string>> = {
  submit: SUBMIT,
  status: `${STATUS}?taskId=task_12345678`,
  balance: BALANCE,
  callback: "/callbacks/apixo/acme.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};
const METHODS: Readonly<Record<Exclude<Endpoint, "other">, string>> = {
  submit: "POST",
  status: "GET",
  balance: "GET",
  callback: "POST",
};

const INVALID = "INVALID_REQUEST";
const SPELLING = /the gateway takes APIXO's spelling only/;

function http(send: Omit<HttpSend, "kind">): () => HttpSend {
  return () => ({ kind: "http", ...send });
}

const post = (path: string, extra: Partial<HttpSend> = {}): (() => HttpSend) =>
  http({ method: "POST", path, body: GOOD_BODY, headers: { "content-type": "application/json" }, ...extra });
const get = (path: string, extra: Partial<HttpSend> = {}): (() => HttpSend) =>
  http({ method: "GET", path, ...extra });

/** A submit of these body bytes. */
const body = (bytes: string | Buffer, headers: Record<string, string> = {}): (() => HttpSend) =>
  http({
    method: "POST",
    path: SUBMIT,
    body: bytes,
    headers: { "content-type": "application/json", ...headers },
  });

/** A request head for raw sockets, with the acme key and the header lines given (each ending in CRLF). */
function head(ctx: CaseContext, endpoint: Exclude<Endpoint, "other">, lines: string, path?: string): string {
  return (
    `${METHODS[endpoint]} ${path ?? PATHS[endpoint]} HTTP/1.1\r\nHost: gw\r\n` +
    `Authorization: ${ctx.auth("acme")}\r\nContent-Type: application/json\r\n${lines}\r\n`
  );
}

function socket(
  pieces: (ctx: CaseContext) => readonly (string | Buffer)[],
): (ctx: CaseContext) => SocketSend {
  return (ctx) => ({ kind: "socket", pieces: pieces(ctx) });
}

// ---------------------------------------------------------------------------------------------------- paths

const submitSpellings: readonly [string, RegExp][] = [
  ["/API/v1/generateTask/nano-banana", /case-sensitive/],
  ["/api/V1/generateTask/nano-banana", /case-sensitive/],
  ["/api/v1/generatetask/nano-banana", /case-sensitive/],
  ["/api/v1/GenerateTask/nano-banana", /case-sensitive/],
  ["/api/v1/GENERATETASK/nano-banana", /case-sensitive/],
  ["/Api/V1/GenerateTask/nano-banana", /case-sensitive/],
  ["/api/v1/generateTask/nano-banana/", /ends with a slash/],
  ["/api/v1/generateTask/nano-banana//", /empty segment/],
  ["/api/v1/generateTask/nano%2Dbanana", /%-escapes/],
  ["/api/v1/generateTask/%6Eano-banana", /%-escapes/],
  ["/api/v1/generateTask/nano-banan%61", /%-escapes/],
  ["/api/v1/generateTask/nano%2dbanana", /%-escapes/],
  ["/api/v1/generateTask/%2Fnano-banana", /encoded separator/],
  ["/api/v1/generateTask/nano%2fbanana", /encoded separator/],
  ["/api/v1/generateTask/%5Cnano-banana", /encoded separator/],
  ["/api/v1/generateTask/nano%5cbanana", /encoded separator/],
  ["/api/v1/generateTask/%2e%2e%2Fnano-banana", /encoded separator/],
  ["/api/v1/generateTask/..%2Fnano-banana", /encoded separator/],
  ["/api/v1/generateTask%2Fnano-banana", /encoded separator/],
  ["/api/v1/generateTask/nano%20banana", /%-escapes/],
  ["/api/v1/generateTask/nano%00banana", /%-escapes/],
  ["/api/v1/generateTask/%E2%80%AEnano", /%-escapes/],
  ["/api/v1/generateTask/nano%", /%-escapes/],
  ["/api/v1/./generateTask/nano-banana", /dot segment/],
  ["/api/v1/generateTask/./nano-banana", /dot segment/],
  ["/api/v1/generateTask/../generateTask/nano-banana", /dot segment/],
  ["/api/v2/../v1/generateTask/nano-banana", /dot segment/],
  ["/api/v1/statusTask/../generateTask/nano-banana", /dot segment/],
  ["/api/v1/generateTask/nano-banana/..", /dot segment/],
  ["/api/v1/generateTask/.", /dot segment/],
  ["/api/v1/generateTask/..", /dot segment/],
  ["/api/v1/generateTask/%2e%2e", /%-escapes/],
  ["//api/v1/generateTask/nano-banana", /empty segment/],
  ["/api//v1/generateTask/nano-banana", /empty segment/],
  ["/api/v1//generateTask/nano-banana", /empty segment/],
  ["/api/v1/generateTask//nano-banana", /empty segment/],
  ["/api/v1/generateTask\\nano-banana", /backslash/],
  ["/api\\v1\\generateTask\\nano-banana", /backslash/],
  ["/api/v1/generateTask/nano-banana/extra", /one path segment/],
  ["/api/v1/generateTask/a/b/c", /one path segment/],
  ["/api/v1/generateTask", /names no model/],
  ["/api/v1/generateTask/", /ends with a slash/],
  ["/api/v1/generateTask/nano;banana", /model id must be/],
  ["/api/v1/generateTask/nano,banana", /model id must be/],
  ["/api/v1/generateTask/nano@banana", /model id must be/],
  ["/api/v1/generateTask/nano:banana", /model id must be/],
  ["/api/v1/generateTask/nano!", /model id must be/],
  ["/api/v1/generateTask/(nano)", /model id must be/],
  ["/api/v1/generateTask/'nano'", /model id must be/],
  ["/api/v1/generateTask/nano*", /model id must be/],
  ["/api/v1/generateTask/nano$", /model id must be/],
  ["/api/v1/generateTask/nano+banana", /model id must be/],
  ["/api/v1/generateTask/nano=banana", /model id must be/],
  [`/api/v1/generateTask/${"m".repeat(129)}`, /model id must be 1-128/],
  ["http://gw.example/api/v1/GenerateTask/nano-banana", /case-sensitive/],
];

const modelCases: readonly [string, string][] = [
  ["NANO-BANANA", "nano-banana"],
  ["Nano-Banana", "nano-banana"],
  ["FLUX2", "flux2"],
  ["Flux-2", "flux-2"],
  ["Sora-2", "sora-2"],
  ["GPT-IMAGE-1", "gpt-image-1"],
];

const statusSpellings: readonly [string, RegExp][] = [
  ["/API/v1/statusTask/nano-banana", /case-sensitive/],
  ["/api/v1/StatusTask/nano-banana", /case-sensitive/],
  ["/api/v1/statustask/nano-banana", /case-sensitive/],
  ["/api/v1/STATUSTASK/nano-banana", /case-sensitive/],
  ["/api/v1/statusTask/nano-banana/", /ends with a slash/],
  ["/api/v1/statusTask/nano%2Dbanana", /%-escapes/],
  ["/api/v1/statusTask/nano%2Fbanana", /encoded separator/],
  ["/api/v1/statusTask/%5C..%5Cnano-banana", /encoded separator/],
  ["/api/v1/statusTask/%2E", /%-escapes/],
  ["/api/v1/./statusTask/nano-banana", /dot segment/],
  ["/api/v1/generateTask/../statusTask/nano-banana", /dot segment/],
  ["/api/v1/statusTask/nano-banana/.", /dot segment/],
  ["/api//v1/statusTask/nano-banana", /empty segment/],
  ["/api/v1/statusTask//nano-banana", /empty segment/],
  ["/api/v1/statusTask\\nano-banana", /backslash/],
  ["/api/v1/statusTask/nano-banana/x", /one path segment/],
  ["/api/v1/statusTask", /names no model/],
  ["/api/v1/statusTask/nano;x", /model id must be/],
];

const balanceSpellings: readonly [string, RegExp][] = [
  ["/API/v1/apikeys/current-balance", /case-sensitive/],
  ["/api/v1/APIKeys/current-balance", /case-sensitive/],
  ["/api/v1/apikeys/Current-Balance", /case-sensitive/],
  ["/api/v1/apikeys/CURRENT-BALANCE", /case-sensitive/],
  ["/api/v1/apikeys/current-balance/", /ends with a slash/],
  ["/api/v1/apikeys/current%2Dbalance", /%-escapes/],
  ["/api/v1/apikeys%2Fcurrent-balance", /encoded separator/],
  ["/api/v1/apikeys/./current-balance", /dot segment/],
  ["/api/v1/x/../apikeys/current-balance", /dot segment/],
  ["/api/v1//apikeys/current-balance", /empty segment/],
  ["/api/v1/apikeys\\current-balance", /backslash/],
  ["/api/v1/apikeys/current-balance/x", /goes on after current-balance/],
];

const pathCases: BadCase[] = [
  ...submitSpellings.map(([path, message]): BadCase => ({
    name: `submit path ${path.slice(0, 70)}`,
    endpoint: "submit",
    send: post(path),
    status: 400,
    type: INVALID,
    message: new RegExp(`${message.source}.*${SPELLING.source}`),
  })),
  ...modelCases.map(([model, canonical]): BadCase => ({
    name: `submit model in another case: ${model}`,
    endpoint: "submit",
    send: post(`/api/v1/generateTask/${model}`),
    status: 400,
    type: INVALID,
    message: new RegExp(`Model ids are case-sensitive: write '${canonical}'`),
  })),
  ...statusSpellings.map(([path, message]): BadCase => ({
    name: `status path ${path}`,
    endpoint: "status",
    send: get(`${path}?taskId=task_12345678`),
    status: 400,
    type: INVALID,
    message: new RegExp(`${message.source}.*GET /api/v1/statusTask/\\{model\\}\\?taskId=`),
  })),
  ...modelCases.slice(0, 2).map(([model, canonical]): BadCase => ({
    name: `status model in another case: ${model}`,
    endpoint: "status",
    send: get(`/api/v1/statusTask/${model}?taskId=task_12345678`),
    status: 400,
    type: INVALID,
    message: new RegExp(`write '${canonical}'`),
  })),
  ...balanceSpellings.map(([path, message]): BadCase => ({
    name: `balance path ${path}`,
    endpoint: "balance",
    send: get(path),
    status: 400,
    type: INVALID,
    message: new RegExp(`${message.source}.*GET /api/v1/apikeys/current-balance`),
  })),
  {
    // node:http sends é as one byte, which HTTP does not allow in a target: refused by the parser.
    name: "submit path with a non-ASCII model id",
    endpoint: "submit",
    send: post("/api/v1/generateTask/caf\u00e9"),
    status: 400,
    type: INVALID,
    message: /request target holds a character HTTP does not allow/,
  },
  {
    name: "submit path with a fragment",
    endpoint: "submit",
    send: post(`${SUBMIT}#frag`),
    status: 400,
    type: INVALID,
    message: /must not carry a '#' fragment/,
  },
  {
    name: "balance path with a fragment",
    endpoint: "balance",
    send: get(`${BALANCE}#x`),
    status: 400,
    type: INVALID,
    message: /fragment/,
  },
  {
    name: "submit path with a space (raw)",
    endpoint: "submit",
    send: socket((ctx) => [
      head(ctx, "submit", "Content-Length: 2\r\n", "/api/v1/generateTask/nano banana"),
      "{}",
    ]),
    status: 400,
    type: INVALID,
    message: /request line is not valid HTTP\/1\.1/,
  },
  {
    name: "submit path with a control character (raw)",
    endpoint: "submit",
    send: socket((ctx) => [
      head(ctx, "submit", "Content-Length: 2\r\n", "/api/v1/generateTask/nano\x01"),
      "{}",
    ]),
    status: 400,
    type: INVALID,
    message: /request target holds a character HTTP does not allow/,
  },
];

// -------------------------------------------------------------------------------------------------- methods

const wrongMethods: readonly (readonly [Exclude<Endpoint, "other" | "callback">, string, string])[] = [
  ...["GET", "PUT", "PATCH", "DELETE", "OPTIONS"].map(
    (m) => ["submit", m, "generateTask takes POST"] as const,
  ),
  ...["POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((m) => ["status", m, "statusTask takes GET"] as const),
  ...["POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map(
    (m) => ["balance", m, "current-balance takes GET"] as const,
  ),
];

const methodCases: BadCase[] = [
  ...wrongMethods.map(([endpoint, method, message]): BadCase => ({
    name: `${method} on ${endpoint}`,
    endpoint,
    send: http({
      method,
      path: PATHS[endpoint],
      headers: { "content-type": "application/json" },
      // node:http sends a DELETE's body unframed (no Content-Length): none for GET, OPTIONS and DELETE.
      ...(["GET", "OPTIONS", "DELETE"].includes(method) ? {} : { body: GOOD_BODY }),
    }),
    status: 404,
    type: "NOT_FOUND",
    message: new RegExp(`${message} only`),
  })),
  {
    name: "GET on a case variant of generateTask",
    endpoint: "submit",
    send: get("/api/v1/GENERATETASK/nano-banana"),
    status: 404,
    type: "NOT_FOUND",
    message: /generateTask takes POST only/,
  },
  ...["GET", "PUT", "DELETE", "PATCH"].map((method): BadCase => ({
    name: `${method} on the callback receiver`,
    endpoint: "callback",
    send: http({ method, path: PATHS.callback, tenant: null }),
    status: 404,
    type: "NOT_FOUND",
    message: /No such endpoint/,
  })),
  ...[
    "/api/v1/other",
    "/api/v2/generateTask/nano-banana",
    "/api/v1/models",
    "/api/v1/generateTaskX/nano-banana",
    "/api/mcp/tools",
    "/api/v1/statusTasks/nano-banana?taskId=t",
    "/api/v1/apikeys/current-balanceX",
    "/api/v1/apikeys",
    "/admin/tenants",
    "/metrics",
  ].map((path): BadCase => ({
    name: `unknown path ${path}`,
    endpoint: "other",
    send: get(path),
    status: 404,
    type: "NOT_FOUND",
    message: /No such endpoint.*The gateway serves generateTask, statusTask and current-balance/,
  })),
  {
    name: "CONNECT (raw)",
    endpoint: "other",
    send: socket(() => ["CONNECT api.apixo.ai:443 HTTP/1.1\r\nHost: api.apixo.ai:443\r\n\r\n"]),
    status: 404,
    type: "NOT_FOUND",
    message: /not a forward proxy/,
  },
];

// -------------------------------------------------------------------------------------------------- queries

const filler = (n: number): string => Array.from({ length: n }, (_, i) => `f${i}=1`).join("&");
const statusQueries: readonly [string | undefined, RegExp][] = [
  [undefined, /taskId query parameter is required/],
  ["", /taskId query parameter is required/],
  ["taskId=", /required/],
  ["taskId", /required/],
  ["taskId=a&taskId=b", /given 2 times/],
  ["taskId=a&taskId=a", /given 2 times/],
  ["taskId=a&taskId=b&taskId=c", /given 3 times/],
  ["taskId=a&TaskId=b", /case-sensitive/],
  ["taskid=a", /case-sensitive/],
  ["TASKID=a", /case-sensitive/],
  ["taskID=a", /case-sensitive/],
  ["taskId[]=a", /Bracketed/],
  ["taskId[0]=a", /Bracketed/],
  ["taskId[a]=b", /Bracketed/],
  ["taskId]=a", /Bracketed/],
  ["taskId=a&taskId[]=b", /Bracketed/],
  ["taskId=a;taskId=b", /';'/],
  ["taskId=a&amp;taskId=b", /';'/],
  ["taskId=a;", /';'/],
  ["task%49d=a", /%-escapes/],
  ["%74askId=a", /%-escapes/],
  ["taskId=a&x=1", /remove 'x'/],
  ["taskId=a&callback_url=x", /remove 'callback_url'/],
  ["taskId=a&provider=official", /remove 'provider'/],
  ["taskId=a&model=sora-2", /remove 'model'/],
  ["taskId=a&_=1700000000", /remove '_'/],
  ["taskId=a&cb", /remove 'cb'/],
  ["x=1", /remove 'x'/],
  ["taskId=a&<b>=1", /remove the others/],
  [`taskId=a&${filler(8)}`, /Too many query parameters \(9\)/],
  [`taskId=a&${filler(99)}&taskId=b`, /Too many query parameters \(101\)/],
  [`taskId=a&${filler(1000)}&taskId=b`, /Too many query parameters \(1002\)/],
  ["&taskId=a", /empty parameter/],
  ["taskId=a&", /empty parameter/],
  ["taskId=a&&x", /empty parameter/],
  ["=a", /empty parameter/],
  ["taskId=a+b", /'\+'/],
  ["taskId=a%26taskId%3Db", /encoded separator/],
  ["taskId=a%3Db", /encoded separator/],
  ["taskId=a%3Bb", /encoded separator/],
  ["taskId=a%3Fb", /encoded separator/],
  ["taskId=a%23b", /encoded separator/],
  ["taskId=a%2526", /encoded separator/],
  ["taskId=%", /malformed %-escape/],
  ["taskId=a%zz", /malformed %-escape/],
  ["taskId=%E0%A4%A", /malformed %-escape/],
  ["taskId=%C3%A9", /visible ASCII/],
  ["taskId=%00", /visible ASCII/],
  ["taskId=a%20b", /visible ASCII/],
  ["taskId=a%0Ab", /visible ASCII/],
  [`taskId=${"a".repeat(201)}`, /1-200 visible ASCII/],
  ["taskId=a#b", /fragment/],
];

const queryCases: BadCase[] = [
  ...statusQueries.map(([query, message]): BadCase => ({
    name: `status query ${query === undefined ? "(none)" : `?${query.slice(0, 60)} (${query.length} chars)`}`,
    endpoint: "status",
    send: get(query === undefined ? STATUS : `${STATUS}?${query}`),
    status: 400,
    type: INVALID,
    message,
  })),
  ...["x=1", "taskId=a", "nocache", ";", "&", "_=1"].map((query): BadCase => ({
    name: `balance query ?${query}`,
    endpoint: "balance",
    send: get(`${BALANCE}?${query}`),
    status: 400,
    type: INVALID,
    message: /current-balance takes no query parameters/,
  })),
  ...["x=1", "request_type=async", "model=sora-2", "callback_url=https://x"].map((query): BadCase => ({
    name: `submit query ?${query}`,
    endpoint: "submit",
    send: post(`${SUBMIT}?${query}`),
    status: 400,
    type: INVALID,
    message: /generateTask takes no query parameters/,
  })),
];

// -------------------------------------------------------------------------------------------------- headers

const authorizations: readonly [string, string | undefined, RegExp][] = [
  ["missing", undefined, /Missing gateway key/],
  ["empty", "", /Missing gateway key/],
  ["Basic", "Basic dXNlcjpwYXNz", /Malformed gateway key/],
  ["Bearer without a key", "Bearer ", /Malformed gateway key/],
  ["an APIXO key", "Bearer sk-live-0123456789", /Malformed gateway key/],
  ["a short agw key", "Bearer agw_short", /Malformed gateway key/],
  ["an unknown key", `Bearer agw_${"A".repeat(43)}`, /Unknown gateway key/],
  ["a key with junk after it", `Bearer agw_${"A".repeat(43)} extra`, /Malformed gateway key/],
];

const contentEncodings = [
  "gzip",
  "deflate",
  "br",
  "compress",
  "x-gzip",
  "gzip, identity",
  "identity, gzip",
  "zstd",
  " GZIP ",
];

const headerCases: BadCase[] = [
  ...(["submit", "status", "balance"] as const).flatMap((endpoint) =>
    authorizations.map(([what, authorization, message]): BadCase => ({
      name: `${endpoint} with ${what} Authorization`,
      endpoint,
      send: http({
        method: METHODS[endpoint],
        path: PATHS[endpoint],
        tenant: null,
        headers: {
          "content-type": "application/json",
          ...(authorization === undefined ? {} : { authorization }),
        },
        ...(endpoint === "submit" ? { body: GOOD_BODY } : {}),
      }),
      status: 401,
      type: "UNAUTHENTICATED",
      message,
    })),
  ),
  ...(["submit", "status", "balance"] as const).map((endpoint): BadCase => ({
    name: `${endpoint} by a disabled tenant`,
    endpoint,
    send: http({
      method: METHODS[endpoint],
      path: PATHS[endpoint],
      tenant: "off",
      headers: { "content-type": "application/json" },
      ...(endpoint === "submit" ? { body: GOOD_BODY } : {}),
    }),
    status: 403,
    type: "TENANT_DISABLED",
    message: /Tenant 'off' is disabled/,
  })),
  {
    name: "submit of a model the tenant may not use",
    endpoint: "submit",
    send: post(SUBMIT, { tenant: "narrow" }),
    status: 403,
    type: "MODEL_NOT_ALLOWED",
    message: /may not use model 'nano-banana'; allowed: flux2/,
  },
  {
    name: "submit of a model with no price (tenant rejects unpriced models)",
    endpoint: "submit",
    send: post("/api/v1/generateTask/no-such-model"),
    status: 403,
    type: "MODEL_NOT_ALLOWED",
    message: /has no price/,
  },
  ...["", " ", "a b", "x".repeat(256)].map((key): BadCase => ({
    name: `submit with Idempotency-Key of ${key.length} characters`,
    endpoint: "submit",
    send: post(SUBMIT, { headers: { "content-type": "application/json", "idempotency-key": key } }),
    status: 400,
    type: INVALID,
    message: /Idempotency-Key must be 1-255 visible ASCII characters/,
  })),
  ...contentEncodings.map((encoding): BadCase => ({
    name: `submit with Content-Encoding ${encoding}`,
    endpoint: "submit",
    send: body(GOOD_BODY, { "content-encoding": encoding }),
    status: 415,
    type: "UNSUPPORTED_MEDIA_TYPE",
    message: /does not accept a Content-Encoding.*send the JSON uncompressed/,
  })),
  {
    name: "callback with Content-Encoding gzip",
    endpoint: "callback",
    send: (ctx) => ({
      kind: "http",
      method: "POST",
      path: `/callbacks/apixo/${ctx.unknownToken}`,
      tenant: null,
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: "{}",
    }),
    status: 415,
    type: "UNSUPPORTED_MEDIA_TYPE",
    message: /Content-Encoding/,
  },
  {
    name: "submit over the body limit (Content-Length)",
    endpoint: "submit",
    send: body(`{"input":{"prompt":"${"p".repeat(1_100_000)}"}}`),
    status: 413,
    type: "PAYLOAD_TOO_LARGE",
    message: /larger than the gateway's limit of 1048576 bytes/,
  },
  {
    name: "submit over the body limit (chunked, no Content-Length)",
    endpoint: "submit",
    send: socket((ctx) => [
      head(ctx, "submit", "Transfer-Encoding: chunked\r\n"),
      ...Array.from({ length: 12 }, () => `17700\r\n${"p".repeat(0x17700)}\r\n`),
      "0\r\n\r\n",
    ]),
    status: 413,
    type: "PAYLOAD_TOO_LARGE",
    message: /limit of 1048576 bytes/,
  },
  {
    name: "callback over the callback body limit",
    endpoint: "callback",
    send: (ctx) => ({
      kind: "http",
      method: "POST",
      path: `/callbacks/apixo/${ctx.unknownToken}`,
      tenant: null,
      headers: { "content-type": "application/json" },
      body: `{"x":"${"a".repeat(300_000)}"}`,
    }),
    status: 413,
    type: "PAYLOAD_TOO_LARGE",
    message: /limit of 262144 bytes/,
  },
  {
    name: "an Expect other than 100-continue (raw)",
    endpoint: "submit",
    send: socket((ctx) => [
      head(ctx, "submit", "Expect: 200-ok\r\nContent-Length: 2\r\nConnection: close\r\n"),
      "{}",
    ]),
    status: 417,
    type: INVALID,
    message: /100-continue/,
  },
];

// --------------------------------------------------------------------------------------------------- bodies

const inPrompt = (...bytes: number[]): Buffer =>
  Buffer.concat([Buffer.from('{"input":{"prompt":"a'), Buffer.from(bytes), Buffer.from('"}}')]);

const notUtf8: readonly [string, Buffer][] = [
  ["a bad continuation byte (2-byte form)", inPrompt(0xc3, 0x28)],
  ["a bad continuation byte (3-byte form)", inPrompt(0xe2, 0x28, 0xa1)],
  ["a bad continuation byte (4-byte form)", inPrompt(0xf0, 0x28, 0x8c, 0xbc)],
  ["a lone continuation byte", inPrompt(0x80)],
  ["two lone continuation bytes", inPrompt(0xbf, 0xbf)],
  ["an overlong '/' (2 bytes)", inPrompt(0xc0, 0xaf)],
  ["an overlong '/' (3 bytes)", inPrompt(0xe0, 0x80, 0xaf)],
  ["an overlong '/' (4 bytes)", inPrompt(0xf0, 0x80, 0x80, 0xaf)],
  ["an overlong NUL", inPrompt(0xc0, 0x80)],
  ["a high surrogate", inPrompt(0xed, 0xa0, 0x80)],
  ["a low surrogate", inPrompt(0xed, 0xbf, 0xbf)],
  ["a surrogate pair (CESU-8)", inPrompt(0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9)],
  ["a truncated 2-byte sequence", inPrompt(0xc3)],
  ["a truncated 3-byte sequence", inPrompt(0xe2, 0x82)],
  ["a truncated 4-byte sequence", inPrompt(0xf0, 0x9f, 0x98)],
  ["a code point above U+10FFFF", inPrompt(0xf4, 0x90, 0x80, 0x80)],
  ["a 5-byte form", inPrompt(0xf8, 0x88, 0x80, 0x80, 0x80)],
  ["0xFE", inPrompt(0xfe)],
  ["0xFF", inPrompt(0xff)],
  ["Latin-1 text", Buffer.from('{"input":{"prompt":"caf\xe9 cr\xe8me"}}', "latin1")],
  ["Windows-1252 quotes", Buffer.from('{"input":{"prompt":"\x93quoted\x94"}}', "latin1")],
  ["a truncated body", Buffer.from('{"input":{"prompt":"caf\u00e9"}}').subarray(0, 24)],
];

const notJson: readonly [string, string, RegExp][] = [
  ["whitespace only", "   \n", /not valid JSON \(it ends too early\)/],
  ["an open brace", "{", /not valid JSON \(Expected property name/],
  ["a close brace", "}", /not valid JSON \(an unexpected character\)/],
  ["a missing value", '{"input":}', /not valid JSON \(an unexpected character\)/],
  ["a trailing comma in an object", '{"input":{},}', /not valid JSON \(Expected double-quoted property name/],
  ["a trailing comma in an array", '{"input":{"image_urls":["a",]}}', /not valid JSON/],
  ["single quotes", "{'input':{}}", /not valid JSON/],
  ["an unquoted name", "{input:{}}", /not valid JSON/],
  ["a line comment", '// hi\n{"input":{}}', /not valid JSON/],
  ["a block comment", '{"input":/* x */{}}', /not valid JSON/],
  ["NaN", '{"input":{"duration":NaN}}', /not valid JSON/],
  ["Infinity", '{"input":{"duration":Infinity}}', /not valid JSON/],
  ["a hex number", '{"input":{"duration":0x5}}', /not valid JSON/],
  ["a leading zero", '{"input":{"duration":05}}', /not valid JSON/],
  ["a leading plus", '{"input":{"duration":+5}}', /not valid JSON/],
  [
    "trailing garbage",
    '{"input":{}}garbage',
    /not valid JSON \(Unexpected non-whitespace character after JSON/,
  ],
  ["two objects", '{"input":{}}{"input":{}}', /not valid JSON \(Unexpected non-whitespace character/],
  ["a raw newline in a string", '{"input":{"prompt":"a\nb"}}', /not valid JSON \(Bad control character/],
  ["a raw tab in a string", '{"input":{"prompt":"a\tb"}}', /not valid JSON \(Bad control character/],
  ["a bad escape", '{"input":{"prompt":"\\x41"}}', /not valid JSON \(Bad escaped character/],
  ["a short \\u escape", '{"input":{"prompt":"\\u12"}}', /not valid JSON/],
  ["an unterminated string", '{"input":{"prompt":"abc', /not valid JSON \(Unterminated string/],
  ["undefined", '{"input":undefined}', /not valid JSON/],
  ["Python's True", '{"input":{"sound":True}}', /not valid JSON/],
  ["a form-encoded body", "input%5Bprompt%5D=a", /not valid JSON/],
  ["XML", "<input><prompt>a</prompt></input>", /not valid JSON/],
  ["a JavaScript object literal", "({input:{}})", /not valid JSON/],
];

const notAccepted: readonly [string, string, RegExp][] = [
  ["an array", "[]", /body must be a JSON object with an "input" object/],
  ["a string", '"input"', /body must be a JSON object/],
  ["a number", "42", /body must be a JSON object/],
  ["null", "null", /body must be a JSON object/],
  ["true", "true", /body must be a JSON object/],
  ["an empty object", "{}", /body must be a JSON object with an "input" object/],
  ["input a string", '{"input":"a cat"}', /input must be a JSON object; got a string/],
  ["input an array", '{"input":["a cat"]}', /input must be a JSON object; got an array/],
  ["input null", '{"input":null}', /input must be a JSON object; got null/],
  ["input a number", '{"input":1}', /input must be a JSON object; got a number/],
  ["no prompt", '{"input":{}}', /input\.prompt is required for nano-banana/],
  ["a numeric prompt", '{"input":{"prompt":1}}', /input\.prompt must be a string; got a number/],
  ["an object prompt", '{"input":{"prompt":{"text":"a"}}}', /input\.prompt must be a string; got an object/],
  ["an empty prompt", '{"input":{"prompt":""}}', /input\.prompt must not be empty/],
  ["a whitespace prompt", '{"input":{"prompt":" \\n\\t "}}', /input\.prompt must not be empty/],
  [
    "a prompt one character too long",
    `{"input":{"prompt":"${"p".repeat(5001)}"}}`,
    /5001 characters; nano-banana accepts at most 5000/,
  ],
  [
    "image-to-image without image_urls",
    '{"input":{"mode":"image-to-image","prompt":"a"}}',
    /input\.image_urls is required when input\.mode is "image-to-image"/,
  ],
  [
    "image_urls a string",
    '{"input":{"prompt":"a","image_urls":"https://x.test/a.png"}}',
    /must be an array of http\(s\) URLs; got a string/,
  ],
  [
    "six image_urls on nano-banana",
    `{"input":{"prompt":"a","image_urls":${JSON.stringify(Array.from({ length: 6 }, (_, i) => `https://x.test/${i}.png`))}}}`,
    /input\.image_urls has 6 URLs; nano-banana accepts at most 5/,
  ],
  ["a numeric image url", '{"input":{"prompt":"a","image_urls":[1]}}', /input\.image_urls\[0\].*http/],
  [
    "an ftp image url",
    '{"input":{"prompt":"a","image_urls":["ftp://x.test/a.png"]}}',
    /input\.image_urls\[0\].*http/,
  ],
  [
    "a javascript: image url",
    '{"input":{"prompt":"a","image_urls":["javascript:alert(1)"]}}',
    /image_urls\[0\].*http/,
  ],
  [
    "a data: image url",
    '{"input":{"prompt":"a","image_urls":["data:image/png;base64,AAAA"]}}',
    /image_urls\[0\].*http/,
  ],
  ["a relative image url", '{"input":{"prompt":"a","image_urls":["/a.png"]}}', /image_urls\[0\].*http/],
  [
    "an image url without a host",
    '{"input":{"prompt":"a","image_urls":["https://"]}}',
    /image_urls\[0\].*http/,
  ],
  [
    "the second image url bad",
    '{"input":{"prompt":"a","image_urls":["https://x.test/a.png","file:///etc/passwd"]}}',
    /image_urls\[1\].*http/,
  ],
  [
    "request_type sync",
    '{"request_type":"sync","input":{"prompt":"a"}}',
    /request_type must be "async" or "callback"; got "sync"/,
  ],
  [
    "request_type a number",
    '{"request_type":1,"input":{"prompt":"a"}}',
    /request_type must be "async" or "callback"; got a number/,
  ],
  ["request_type in another case", '{"request_type":"Async","input":{"prompt":"a"}}', /got "Async"/],
  [
    "callback without callback_url",
    '{"request_type":"callback","input":{"prompt":"a"}}',
    /callback_url is required/,
  ],
  [
    "callback with an empty callback_url",
    '{"request_type":"callback","callback_url":"","input":{"prompt":"a"}}',
    /callback_url is required/,
  ],
  [
    "callback with a callback_url that is no URL",
    '{"request_type":"callback","callback_url":"not a url","input":{"prompt":"a"}}',
    /callback_url must be an http\(s\) URL/,
  ],
  [
    "callback with an http callback_url",
    '{"request_type":"callback","callback_url":"http://hooks.example.com/cb","input":{"prompt":"a"}}',
    /callback_url must be an https URL/,
  ],
];

const duplicates: readonly [string, string, RegExp][] = [
  ["input twice", '{"input":{"prompt":"a"},"input":{"prompt":"b"}}', /member "input" twice/],
  [
    "request_type twice",
    '{"request_type":"async","request_type":"callback","input":{"prompt":"a"}}',
    /"request_type" twice/,
  ],
  ["prompt twice", '{"input":{"prompt":"a","prompt":"b"}}', /"prompt" twice/],
  ["duration twice", '{"input":{"prompt":"a","duration":4,"duration":15}}', /"duration" twice/],
  ["a name twice in an array's object", '{"input":{"prompt":"a","x":[{"k":1,"k":2}]}}', /"k" twice/],
  ["the same name escaped", '{"input":{"prompt":"a"},"\\u0069nput":{"prompt":"b"}}', /"input" twice/],
  [
    "callback_url twice",
    '{"callback_url":"https://a.example/x","callback_url":"https://b.example/y","request_type":"callback","input":{"prompt":"a"}}',
    /"callback_url" twice/,
  ],
];

const bodyCases: BadCase[] = [
  {
    name: "an empty body",
    endpoint: "submit",
    send: body(""),
    status: 400,
    type: INVALID,
    message: /Request body is empty/,
  },
  ...notUtf8.map(([what, bytes]): BadCase => ({
    name: `a body with ${what}`,
    endpoint: "submit",
    send: body(bytes),
    status: 400,
    type: INVALID,
    message: /Request body is not UTF-8 text/,
  })),
  {
    name: "a body with a byte order mark",
    endpoint: "submit",
    send: body(Buffer.from(`\uFEFF${GOOD_BODY}`)),
    status: 400,
    type: INVALID,
    message: /byte order mark/,
  },
  ...(
    [
      ["UTF-16LE", Buffer.from(GOOD_BODY, "utf16le")],
      ["UTF-16BE", Buffer.from(GOOD_BODY, "utf16le").swap16()],
      [
        "UTF-16LE with its BOM",
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(GOOD_BODY, "utf16le")]),
      ],
      ["UTF-32LE", Buffer.concat(Array.from(GOOD_BODY).map((c) => Buffer.from([c.charCodeAt(0), 0, 0, 0])))],
      ["a NUL before the JSON", Buffer.concat([Buffer.from([0]), Buffer.from(GOOD_BODY)])],
    ] as const
  ).map(([what, bytes]): BadCase => ({
    name: `a body in ${what}`,
    endpoint: "submit",
    send: body(bytes),
    status: 400,
    type: INVALID,
    message: /(not UTF-8 text|NUL bytes).*UTF-8/,
  })),
  ...notJson.map(([what, text, message]): BadCase => ({
    name: `a body that is not JSON: ${what}`,
    endpoint: "submit",
    send: body(text),
    status: 400,
    type: INVALID,
    message,
  })),
  ...notAccepted.map(([what, text, message]): BadCase => ({
    name: `a body the checks refuse: ${what}`,
    endpoint: "submit",
    send: body(text),
    status: 400,
    type: INVALID,
    message,
  })),
  ...duplicates.map(([what, text, message]): BadCase => ({
    name: `a body with a duplicate member: ${what}`,
    endpoint: "submit",
    send: body(text),
    status: 400,
    type: INVALID,
    message,
  })),
  {
    name: "a body that is not JSON, in the wrong Content-Type",
    endpoint: "submit",
    send: body("prompt=a", { "content-type": "application/x-www-form-urlencoded" }),
    status: 400,
    type: INVALID,
    message: /not valid JSON/,
  },
];

// ------------------------------------------------------------------------------------------------- protocol

/** Malformed HTTP, sent to each endpoint: [name, header lines and body after them, message]. */
const framing: readonly [string, string, RegExp][] = [
  ["a bad chunk size", "Transfer-Encoding: chunked\r\n\r\nzz\r\n", /chunk size/],
  ["a negative chunk size", "Transfer-Encoding: chunked\r\n\r\n-1\r\n", /chunk size/],
  ["a chunk size overflow", "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", /chunk size/],
  ["a chunk longer than its size", "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", /framing/],
  [
    "Content-Length with chunked",
    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    /both Content-Length and Transfer-Encoding/,
  ],
  [
    "chunked with Content-Length",
    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    /both Content-Length and Transfer-Encoding/,
  ],
  ["two Content-Lengths", "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", /more than one Content-Length/],
  [
    "two equal Content-Lengths",
    "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    /more than one Content-Length/,
  ],
  ["a NUL in a header value", "X-Note: a\0b\r\nContent-Length: 2\r\n\r\n{}", /control character/],
];

const protocolOnly: readonly [string, (ctx: CaseContext) => string, number, RegExp][] = [
  [
    "a Content-Length list",
    (c) => head(c, "submit", "Content-Length: 2, 2\r\n") + "{}",
    400,
    /Content-Length header is not a plain decimal number/,
  ],
  [
    "a negative Content-Length",
    (c) => head(c, "submit", "Content-Length: -1\r\n"),
    400,
    /plain decimal number/,
  ],
  ["a hex Content-Length", (c) => head(c, "submit", "Content-Length: 0x10\r\n"), 400, /plain decimal number/],
  [
    "a Content-Length overflow",
    (c) => head(c, "submit", "Content-Length: 99999999999999999999999\r\n"),
    400,
    /plain decimal number/,
  ],
  [
    "Transfer-Encoding gzip",
    (c) => head(c, "submit", "Transfer-Encoding: gzip\r\n"),
    400,
    /must be exactly 'chunked'/,
  ],
  [
    "Transfer-Encoding chunked, gzip",
    (c) => head(c, "submit", "Transfer-Encoding: chunked, gzip\r\n"),
    400,
    /must be exactly 'chunked'/,
  ],
  [
    "Transfer-Encoding twice",
    (c) => head(c, "submit", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n",
    400,
    /must be exactly 'chunked'/,
  ],
  [
    "Transfer-Encoding identity",
    (c) => head(c, "submit", "Transfer-Encoding: identity\r\n"),
    400,
    /must be exactly 'chunked'/,
  ],
  [
    "chunk extensions too large",
    (c) => head(c, "submit", "Transfer-Encoding: chunked\r\n") + `2;${"e".repeat(20_000)}\r\n{}\r\n0\r\n\r\n`,
    413,
    /chunk extensions are too large/,
  ],
  [
    "a NUL in a header name",
    () => "GET /healthz HTTP/1.1\r\nHost: gw\r\nX\0A: 1\r\n\r\n",
    400,
    /control character/,
  ],
  [
    "a space in a header name",
    () => "GET /healthz HTTP/1.1\r\nHost: gw\r\nX A: 1\r\n\r\n",
    400,
    /space\s+in a name|control character/,
  ],
  [
    "a space before the colon",
    (c) => head(c, "balance", "Authorization : x\r\n"),
    400,
    /control character|space/,
  ],
  ["a folded header line", (c) => head(c, "balance", "X-Note: a\r\n b\r\n"), 400, /folded line/],
  ["a DEL in a header value", (c) => head(c, "balance", "X-Note: a\x7fb\r\n"), 400, /control character/],
  ["LF-only line endings", () => "GET /api/v1/apikeys/current-balance HTTP/1.1\nHost: gw\n\n", 400, /CRLF/],
  [
    "CR-only line endings",
    () => "GET /api/v1/apikeys/current-balance HTTP/1.1\rHost: gw\r\r",
    400,
    /CRLF|framing/,
  ],
  ["HTTP/9.9", () => "GET /api/v1/apikeys/current-balance HTTP/9.9\r\nHost: gw\r\n\r\n", 400, /HTTP\/1\.1/],
  [
    "HTTX/1.1",
    () => "GET /api/v1/apikeys/current-balance HTTX/1.1\r\nHost: gw\r\n\r\n",
    400,
    /request line is not valid/,
  ],
  [
    "a method with an invalid character",
    () => "G@T /api/v1/apikeys/current-balance HTTP/1.1\r\nHost: gw\r\n\r\n",
    400,
    /method is not one HTTP\/1\.1 knows/,
  ],
  [
    "an unknown method",
    () => "FETCH /api/v1/apikeys/current-balance HTTP/1.1\r\nHost: gw\r\n\r\n",
    400,
    /method/,
  ],
  ["no request target", () => "GET HTTP/1.1\r\nHost: gw\r\n\r\n", 400, /request target/],
  [
    "a byte above 0x7F in the target",
    () => "GET /api/v1/statusTask/nano\xff?taskId=t HTTP/1.1\r\nHost: gw\r\n\r\n",
    400,
    /request target/,
  ],
  ["the HTTP/2 preface", () => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, /HTTP\/2 without TLS/],
  ["a TLS handshake", () => "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, /method/],
  [
    "no Host (HTTP/1.1)",
    (c) => `GET ${BALANCE} HTTP/1.1\r\nAuthorization: ${c.auth("acme")}\r\nConnection: close\r\n\r\n`,
    400,
    /must carry a Host header/,
  ],
  [
    "two Hosts",
    (c) =>
      `GET ${BALANCE} HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: ${c.auth("acme")}\r\nConnection: close\r\n\r\n`,
    400,
    /more than one Host/,
  ],
  [
    "an invalid Host",
    (c) =>
      `GET ${BALANCE} HTTP/1.1\r\nHost: a b\r\nAuthorization: ${c.auth("acme")}\r\nConnection: close\r\n\r\n`,
    400,
    /not a valid host/,
  ],
  [
    "a Host with a path",
    (c) =>
      `POST ${SUBMIT} HTTP/1.1\r\nHost: gw/x\r\nAuthorization: ${c.auth("acme")}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    400,
    /not a valid host/,
  ],
  [
    "one header over 16 KiB",
    () => `GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Big: ${"a".repeat(17_000)}\r\n\r\n`,
    431,
    /headers are larger than the gateway accepts/,
  ],
  [
    "3000 small headers",
    () =>
      `GET /healthz HTTP/1.1\r\nHost: gw\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: 1\r\n`).join("")}\r\n`,
    431,
    /headers are larger/,
  ],
  [
    "a request line over 16 KiB",
    () => `GET /api/v1/statusTask/nano-banana?taskId=${"a".repeat(17_000)} HTTP/1.1\r\nHost: gw\r\n\r\n`,
    431,
    /headers are larger/,
  ],
  [
    "an Authorization over 16 KiB",
    () => `GET ${BALANCE} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${"a".repeat(17_000)}\r\n\r\n`,
    431,
    /headers are larger/,
  ],
];

const protocolCases: BadCase[] = [
  ...(["submit", "status", "balance", "callback"] as const).flatMap((endpoint) =>
    framing.map(([what, rest, message]): BadCase => ({
      name: `${endpoint}: ${what} (raw)`,
      endpoint,
      send: socket((ctx) => [head(ctx, endpoint, "").slice(0, -2) + rest]),
      status: 400,
      type: INVALID,
      message,
    })),
  ),
  ...protocolOnly.map(([what, bytes, status, message]): BadCase => ({
    name: `${what} (raw)`,
    endpoint: "other",
    send: socket((ctx) => [Buffer.from(bytes(ctx), "latin1")]),
    status,
    type: status === 413 ? "PAYLOAD_TOO_LARGE" : INVALID,
    message,
  })),
];

// --------------------------------------------------------------------------------------------------- callback

const callbackCases: BadCase[] = [
  ...[
    "acme",
    "acme.",
    "acme.short",
    `acme.${"A".repeat(42)}`,
    `acme.${"A".repeat(44)}`,
    `ACME.${"A".repeat(43)}`,
    `nobody.${"A".repeat(43)}`,
    `.${"A".repeat(43)}`,
    `acme.${"A".repeat(42)}=`,
    `acme.${"A".repeat(42)}%2F`,
    `acme%2E${"A".repeat(43)}`,
    `../acme.${"A".repeat(43)}`,
  ].map((token): BadCase => ({
    name: `callback to token ${token.slice(0, 24)}…(${token.length})`,
    endpoint: "callback",
    send: http({
      method: "POST",
      path: `/callbacks/apixo/${token}`,
      tenant: null,
      headers: { "content-type": "application/json" },
      body: '{"code":200,"message":"success","data":{"taskId":"t","state":"success"}}',
    }),
    status: 404,
    type: "NOT_FOUND",
    message: /No such (callback|endpoint)/,
  })),
  ...(
    [
      ["a status envelope", '{"code":200,"message":"success","data":{"taskId":"t","state":"success"}}'],
      ["invalid UTF-8", Buffer.from([0x7b, 0xc3, 0x28, 0x7d])],
      ["an empty body", ""],
      ["not JSON", "garbage"],
    ] as const
  ).map(([what, bytes]): BadCase => ({
    name: `callback with ${what} to an unknown token of a known tenant`,
    endpoint: "callback",
    send: (ctx) => ({
      kind: "http",
      method: "POST",
      path: `/callbacks/apixo/${ctx.unknownToken}`,
      tenant: null,
      headers: { "content-type": "application/json" },
      body: bytes,
    }),
    status: 404,
    type: "NOT_FOUND",
    message: /No such callback/,
  })),
];

export const BAD_CASES: readonly BadCase[] = [
  ...pathCases,
  ...methodCases,
  ...queryCases,
  ...headerCases,
  ...bodyCases,
  ...protocolCases,
  ...callbackCases,
];
