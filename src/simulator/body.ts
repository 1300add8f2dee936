import type { IncomingMessage } from "node:http";

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Past this the client is not sending a request but a flood; stop reading and drop the connection. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * Reads the whole body. An oversized body is read to its end and thrown away (so the client is still reading
 * when the 413 arrives, instead of getting a reset mid-upload) and reported as `tooLarge` with an empty buffer.
 */
export function readBody(req: IncomingMessage, done: (body: Buffer, tooLarge: boolean) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_DRAIN_BYTES) {
      req.socket.destroy();
      return;
    }
    if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on("end", () => {
    if (bytes > MAX_BODY_BYTES) done(EMPTY, true);
    else done(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks), false);
  });
}
