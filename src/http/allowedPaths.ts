/** Dot segments and encoded separators, raw or percent-encoded: a path holding one is never passed through. */
const AMBIGUOUS = /(^|\/)(\.|%2e){1,2}(\/|$)|%2f|%5c|\\/i;

/**
 * Whether an operator-allowed path prefix covers this request URL. The URL is forwarded as sent, so a path
 * that an upstream or a CDN could normalise into another endpoint (`/allowed/../generateTask/x`) is refused
 * outright, and a prefix matches whole segments only (`/api/v1/models` does not cover `/api/v1/modelsX`).
 */
export function isAllowedPath(url: string, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return false;
  const path = url.split("?", 1)[0] ?? "";
  if (AMBIGUOUS.test(path)) return false;
  return prefixes.some((prefix) => {
    const base = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
    return path === base || path.startsWith(`${base}/`);
  });
}
