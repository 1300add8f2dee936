import type { StoredAnswer } from "../limits/store.js";
import type { UpstreamAnswer } from "../upstream/transport.js";

/**
 * What a route answers, as a value; one writer in the HTTP layer sends it (src/http/reply.ts), with the
 * context's headers. Errors are thrown GatewayErrors, written by the same writer in the envelope.
 */
export type Reply =
  /** APIXO's answer, byte for byte, with the headers a client may see. */
  | { readonly kind: "upstream"; readonly answer: Pick<UpstreamAnswer, "status" | "headers" | "body"> }
  /** An answer kept in the store (idempotent replay, status cache) or in memory (pacing), byte for byte. */
  | {
      readonly kind: "stored";
      readonly answer: StoredAnswer;
      readonly headers: Readonly<Record<string, string>>;
    }
  /** The gateway's own answer (current-balance). */
  | { readonly kind: "json"; readonly status: number; readonly body: Buffer }
  /** Nobody is left to answer (the client went away). */
  | { readonly kind: "nothing" };

export const NOTHING: Reply = { kind: "nothing" };

/** The gateway's own JSON answer. */
export function jsonReply(status: number, value: unknown): Reply {
  return { kind: "json", status, body: Buffer.from(JSON.stringify(value)) };
}
