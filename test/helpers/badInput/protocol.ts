/** Bad input: protocol. */
import { SUBMIT, BALANCE, INVALID, head, socket, type CaseContext, type BadCase } from "./kit.js";

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

export const protocolCases: BadCase[] = [
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
