/** A member name is quoted in a message only when short and plain; anything else is described, never echoed. */
const QUOTABLE = /^[\x20-\x7e]{1,40}$/;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * The first member name that appears twice in one object of `text`, quoted for a message, or undefined.
 * `text` must already be valid JSON (JSON.parse accepted it): this is one pass over its tokens, not a parser.
 *
 * Written by hand: JSON.parse silently keeps the last of two members and a reviver only sees that one; the
 * libraries that report duplicates build a syntax tree or recurse once per nesting level (a deeply nested body
 * would overflow the stack), where this is one iterative scan with a set per open object. Names are compared
 * after unescaping, so `"input"` and `"\u0069nput"` are the same member.
 */
export function duplicateMemberName(text: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const names = open[open.length - 1];
      if (expectName && names !== undefined && names !== null) {
        const raw = text.slice(i, end + 1);
        const name = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (names.has(name)) return QUOTABLE.test(name) ? `"${name}"` : "(a long or non-ASCII name)";
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      expectName = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      expectName = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      expectName = false;
    } else if (c === COMMA) {
      const top = open[open.length - 1];
      expectName = top !== undefined && top !== null;
    }
  }
  return undefined;
}

/** Index of the quote that closes the string opening at `start` (valid JSON: it exists). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE || Number.isNaN(c)) return i;
    else i++;
  }
}
