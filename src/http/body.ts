import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors/catalog.js";
import { duplicateMemberName } from "./jsonDuplicates.js";

/**
 * The client went away before its request was complete: nothing was reserved or forwarded, and there is no one
 * to answer. Expected, so never an internal error (app.ts logs it at info with nginx's 499).
 */
export class ClientClosedRequest extends Error {
  constructor() {
    super("the client closed the connection before the request was complete");
    this.name = "ClientClosedRequest";
  }
}

function tooLarge(limitBytes: number): GatewayError {
  return new GatewayError(
    "PAYLOAD_TOO_LARGE",
    `Request body is larger than the gateway's limit of ${limitBytes} bytes; send image URLs, not inline data.`,
  );
}

/**
 * A body in a Content-Encoding is refused (415) rather than decoded. APIXO documents no compressed request
 * bodies, a governed body is a few KB of JSON (media travels as URLs), and decoding would put a decompression
 * bomb's CPU and memory on the hot path for no client that needs it. Refusing also keeps the one rule that the
 * gateway validates exactly the bytes it forwards. `identity` is the absence of an encoding.
 */
function assertNoContentEncoding(req: IncomingMessage): void {
  const encoding = req.headers["content-encoding"];
  if (encoding === undefined || encoding.trim().toLowerCase() === "identity") return;
  throw new GatewayError(
    "UNSUPPORTED_MEDIA_TYPE",
    "The gateway does not accept a Content-Encoding on request bodies; send the JSON uncompressed.",
  );
}

/**
 * Reads the raw body bytes exactly as sent, refusing as soon as it is known to exceed `limitBytes`. Rejects with
 * ClientClosedRequest when the client goes away first (the promise never hangs on a dead connection).
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  try {
    assertNoContentEncoding(req);
    if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
  } catch (err) {
    // Drain rather than destroy, so the client reads our answer instead of a connection reset.
    req.resume();
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.resume();
      reject(tooLarge(limitBytes));
    };
    req.on("data", onData);
    req.once("end", () => {
      if (size <= limitBytes) resolve(Buffer.concat(chunks, size));
    });
    // "error" (aborted) and "close" before "end" both mean the rest of the body will never come. A settled
    // promise ignores the later calls.
    req.once("error", () => {
      reject(new ClientClosedRequest());
    });
    req.once("close", () => {
      if (!req.complete) reject(new ClientClosedRequest());
    });
  });
}

/** Strict: a byte sequence that is not UTF-8 (bad continuation, overlong form, surrogate, truncation) throws. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const BOM = "\uFEFF";

/**
 * Parses a copy of the body for the gateway's own checks; what is forwarded stays the original bytes, so the
 * copy must be the one reading of them APIXO can make too: UTF-8 JSON text (RFC 8259), no byte order mark
 * (RFC 8259 section 8.1 lets a parser ignore one or refuse it, so APIXO might do either), and no object with a
 * member name twice (parsers keep the first or the last: the gateway could price one `input` and APIXO run
 * the other). Messages describe the problem, never quote the body.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) {
    throw new GatewayError(
      "INVALID_REQUEST",
      'Request body is empty; send a JSON object with an "input" object.',
    );
  }
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new GatewayError(
      "INVALID_REQUEST",
      "Request body is not UTF-8 text (it holds bytes that are not valid UTF-8, e.g. Latin-1); JSON must be UTF-8.",
    );
  }
  // Valid UTF-8, but never JSON text outside a string nor inside one: most often UTF-16 or UTF-32.
  if (body.includes(0)) {
    throw new GatewayError(
      "INVALID_REQUEST",
      "Request body holds NUL bytes (UTF-16 or UTF-32 text?); JSON must be sent as UTF-8.",
    );
  }
  if (text.startsWith(BOM)) {
    throw new GatewayError(
      "INVALID_REQUEST",
      "Request body starts with a byte order mark; send UTF-8 without one.",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GatewayError("INVALID_REQUEST", `Request body is not valid JSON (${syntaxReason(err)}).`);
  }
  const duplicate = duplicateMemberName(text);
  if (duplicate !== undefined) {
    throw new GatewayError(
      "INVALID_REQUEST",
      `Request body has an object with the member ${duplicate} twice; send each name once.`,
    );
  }
  return parsed;
}

/** V8's reason without the text it quotes ("Unexpected token 'x', "…" is not valid JSON" echoes the body). */
function syntaxReason(err: unknown): string {
  if (!(err instanceof SyntaxError)) return "unparseable";
  const message = err.message;
  if (message.startsWith("Unexpected token")) return "an unexpected character";
  const positioned = /^(.*?)(?: in JSON)? at position (\d+)/.exec(message);
  if (positioned !== null) return `${positioned[1] ?? "error"} at character ${positioned[2] ?? "?"}`;
  if (message.startsWith("Unexpected end of JSON input")) return "it ends too early";
  return "unparseable";
}
