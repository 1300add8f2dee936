/**
 * Callback mode is the one place the forwarded submit body differs from the client's: the top-level
 * `callback_url` string is swapped for the gateway's URL. Only those bytes change; every other byte (key order,
 * whitespace, escapes, other fields) is sent as the client wrote it. JSON's structural characters are ASCII and
 * never occur inside a multi-byte UTF-8 sequence, so the scan works on the raw bytes.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

interface Range {
  readonly start: number;
  readonly end: number;
}

function skipSpace(body: Buffer, at: number): number {
  let i = at;
  while (i < body.length && WHITESPACE.has(body[i] ?? 0)) i++;
  return i;
}

/** The index just past the string starting at `at` (a quote). */
function stringEnd(body: Buffer, at: number): number {
  for (let i = at + 1; i < body.length; i++) {
    const byte = body[i];
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i + 1;
  }
  return -1;
}

/** The index just past the value starting at `at`: strings, nested containers and bare literals. */
function valueEnd(body: Buffer, at: number): number {
  if (body[at] === QUOTE) return stringEnd(body, at);
  let depth = 0;
  for (let i = at; i < body.length; i++) {
    const c = String.fromCharCode(body[i] ?? 0);
    if (c === '"') {
      i = stringEnd(body, i) - 1;
      if (i < 0) return -1;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (c === "," || WHITESPACE.has(body[i] ?? 0))) return i;
  }
  return depth === 0 ? body.length : -1;
}

/** Byte ranges of every top-level `"callback_url": "<string>"` value (JSON.parse keeps the last duplicate). */
function callbackUrlRanges(body: Buffer): Range[] | undefined {
  const ranges: Range[] = [];
  let i = skipSpace(body, 0);
  if (body[i] !== 0x7b) return undefined;
  i = skipSpace(body, i + 1);
  while (i < body.length && body[i] !== 0x7d) {
    if (body[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(body, i);
    if (keyEnd < 0) return undefined;
    const key: unknown = JSON.parse(body.subarray(i, keyEnd).toString("utf8"));
    i = skipSpace(body, keyEnd);
    if (body[i] !== 0x3a) return undefined;
    const start = skipSpace(body, i + 1);
    const end = valueEnd(body, start);
    if (end < 0) return undefined;
    if (key === "callback_url" && body[start] === QUOTE) ranges.push({ start, end });
    i = skipSpace(body, end);
    if (body[i] === 0x2c) i = skipSpace(body, i + 1);
  }
  return ranges;
}

/**
 * The body with every top-level callback_url string replaced by `url` (JSON-encoded), or undefined when the
 * body holds none (validation guarantees one in callback mode, so that would be a bug).
 */
export function replaceCallbackUrl(body: Buffer, url: string): Buffer | undefined {
  const ranges = callbackUrlRanges(body);
  if (ranges === undefined || ranges.length === 0) return undefined;
  const replacement = Buffer.from(JSON.stringify(url), "utf8");
  const parts: Buffer[] = [];
  let from = 0;
  for (const range of ranges) {
    parts.push(body.subarray(from, range.start), replacement);
    from = range.end;
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}
