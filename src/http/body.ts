import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors/catalog.js";
import { ClientClosedRequest } from "../errors/clientClosed.js";

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
