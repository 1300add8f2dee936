import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors/catalog.js";

function tooLarge(limitBytes: number): GatewayError {
  return new GatewayError(
    "PAYLOAD_TOO_LARGE",
    `Request body is larger than the gateway's limit of ${limitBytes} bytes; send image URLs, not inline data.`,
  );
}

/** Reads the raw body bytes exactly as sent, refusing as soon as it is known to exceed `limitBytes`. */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limitBytes) {
    // Drain rather than destroy, so the client reads our 413 instead of a connection reset.
    req.resume();
    return Promise.reject(tooLarge(limitBytes));
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
    req.once("error", reject);
  });
}

/** Parses a copy of the body for the gateway's own checks; what is forwarded stays the original bytes. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) {
    throw new GatewayError(
      "INVALID_REQUEST",
      'Request body is empty; send a JSON object with an "input" object.',
    );
  }
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : "unparseable";
    throw new GatewayError("INVALID_REQUEST", `Request body is not valid JSON (${reason}).`);
  }
}
