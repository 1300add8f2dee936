import { randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingMessage } from "node:http";
import { GatewayError, errorEnvelope } from "../errors/catalog.js";

/**
 * Requests the HTTP layer refuses before any handler could: Node's parser errors, headers or bodies that did not
 * arrive in time, and a missing or doubled Host. Node answers these with an empty 400/408/431; the gateway answers
 * them in its envelope like every other refusal (CONTRACTS.md section 1). Types stay within the catalog:
 * INVALID_REQUEST with the HTTP status that names the problem (400, 408, 431), PAYLOAD_TOO_LARGE for oversized
 * chunk extensions. Messages come from the error's code, never from the bytes received.
 */

function invalid(message: string, status = 400): GatewayError {
  return new GatewayError("INVALID_REQUEST", message, { status });
}

const PARSER_MESSAGES: Readonly<Record<string, string>> = {
  HPE_UNEXPECTED_CONTENT_LENGTH: "The request has more than one Content-Length header; send one.",
  HPE_INVALID_CONTENT_LENGTH: "The Content-Length header is not a plain decimal number the gateway can hold.",
  HPE_INVALID_TRANSFER_ENCODING:
    "The Transfer-Encoding header must be exactly 'chunked' (the gateway decodes no other transfer coding).",
  HPE_INVALID_CHUNK_SIZE: "A chunk size of the chunked body is not valid hexadecimal (or is too large).",
  HPE_INVALID_HEADER_TOKEN:
    "A header name or value holds a character HTTP does not allow (a control character such as NUL, a space " +
    "in a name, or a folded line).",
  HPE_INVALID_METHOD: "The request method is not one HTTP/1.1 knows.",
  HPE_INVALID_URL: "The request target holds a character HTTP does not allow (send it %-encoded).",
  HPE_INVALID_VERSION: "The request line must end with HTTP/1.1 and CRLF.",
  HPE_INVALID_CONSTANT:
    "The request line is not valid HTTP/1.1 (method, target, version, separated by one space).",
  HPE_LF_EXPECTED: "The request breaks HTTP/1.1's framing: lines (and chunks) must end with CRLF.",
  HPE_CR_EXPECTED: "The request breaks HTTP/1.1's framing: lines (and chunks) must end with CRLF.",
  HPE_STRICT: "The request breaks HTTP/1.1's framing: lines (and chunks) must end with CRLF.",
  HPE_PAUSED_H2_UPGRADE: "HTTP/2 without TLS is not served; send HTTP/1.1.",
};

/** llhttp reports Content-Length with Transfer-Encoding under either header's code, by this fixed reason. */
const BOTH_LENGTHS = "can't be present with";
const BOTH_LENGTHS_MESSAGE =
  "The request has both Content-Length and Transfer-Encoding (a request-smuggling pattern, RFC 9112 section 6.3); send one.";

/** What to answer for a `clientError`; undefined when there is no one to answer (the client reset or left). */
export function protocolError(
  err: Error & { code?: string; reason?: string },
  timing: {
    readonly bodyArriving: boolean;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
  },
  maxHeaderBytes: number,
): GatewayError | undefined {
  switch (err.code) {
    // The client reset, or closed its side mid-request: it went away (a 499 for the request, if one had started).
    case "ECONNRESET":
    case "EPIPE":
    case "HPE_INVALID_EOF_STATE":
      return undefined;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return timing.bodyArriving
        ? invalid(
            `The whole request did not arrive within ${seconds(timing.requestTimeoutMs)}; send the body without pausing.`,
            408,
          )
        : invalid(`The request's headers did not arrive within ${seconds(timing.headersTimeoutMs)}.`, 408);
    case "HPE_HEADER_OVERFLOW":
      return invalid(
        `The request's headers are larger than the gateway accepts (${maxHeaderBytes} bytes in all).`,
        431,
      );
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return new GatewayError("PAYLOAD_TOO_LARGE", "The chunked body's chunk extensions are too large.");
    default:
      if ((err.reason ?? "").includes(BOTH_LENGTHS)) return invalid(BOTH_LENGTHS_MESSAGE);
      return invalid(
        PARSER_MESSAGES[err.code ?? ""] ?? "The request is not valid HTTP/1.1 and could not be read.",
      );
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** A Host the gateway can judge: reg-name, IPv4 or [IPv6], optional port (RFC 9110 section 7.2). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]{0,5})?$/;

/**
 * RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, with two Host lines or with
 * an invalid Host. Node's own check (requireHostHeader) answers without the envelope, so it is done here.
 */
export function requestProblem(req: IncomingMessage): GatewayError | undefined {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === "host") hosts += 1;
  }
  if (hosts === 0) {
    return req.httpVersion === "1.0" ? undefined : invalid("HTTP/1.1 requests must carry a Host header.");
  }
  if (hosts > 1) return invalid("The request carries more than one Host header; send one.");
  if (!HOST.test(req.headers.host ?? "")) return invalid("The Host header is not a valid host[:port].");
  return undefined;
}

/** A complete HTTP/1.1 answer for a connection that has no request object to answer through. */
export function rawErrorResponse(error: GatewayError, nowMs: number): string {
  const requestId = randomUUID();
  const body = JSON.stringify(errorEnvelope(error, requestId));
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? "Error"}`,
    `Date: ${new Date(nowMs).toUTCString()}`,
    "Content-Type: application/json; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}
