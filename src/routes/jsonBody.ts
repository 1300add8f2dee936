import { GatewayError } from "../errors/catalog.js";
import { duplicateMemberName } from "./jsonDuplicates.js";

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
