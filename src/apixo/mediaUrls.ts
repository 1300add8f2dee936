/**
 * Media URLs in a submit's `input`: APIXO downloads them, so a URL at a private address would make APIXO's
 * fetcher reach into whatever network it runs in, on the tenant's bill. Each one must be http(s) to a public
 * host (src/net/urls.ts), unless the operator's governance.mediaUrls.allowPrivateNetworks covers it.
 *
 * Hosts are checked as written, not resolved: the gateway never fetches these URLs, APIXO does, from its own
 * network and with its own DNS, so an answer the gateway got would prove nothing about the fetch (and a
 * rebinding name can answer differently a second later); a lookup on the submit hot path would also add a DNS
 * round trip to every request. What this leaves open: a public name that resolves to a private address, and a
 * public URL that redirects to one. Those only APIXO's fetcher can stop (README, "Media URLs").
 */
import { NO_EXCEPTIONS, type AllowList } from "../net/addresses.js";
import { checkUrlLiterally, type UrlRules } from "../net/urls.js";

export interface MediaUrlPolicy {
  readonly allowList: AllowList;
}

export const PUBLIC_MEDIA_ONLY: MediaUrlPolicy = { allowList: NO_EXCEPTIONS };

export interface MediaUrlFailure {
  readonly field: string;
  readonly message: string;
}

/**
 * Fields APIXO reads URLs from: every key ending in `url`/`urls` (image_urls, image_url, video_urls,
 * audio_urls, mask_url, imageUrls, and whatever the next model adds, at any depth), and `loras[].path`
 * (ltx-2-19b; its failCode is INVALID_LORA_URL).
 */
const URL_KEY = /urls?$/i;
const NESTED_URL_KEYS: ReadonlyMap<string, string> = new Map([["loras", "path"]]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

const MAX_PATH_CHARS = 200;

/** `parent` + `step`, cut short with "…" once too long for a message (a deep body makes a deep path). */
function extend(parent: string, step: string): string {
  if (parent.endsWith("…")) return parent;
  return parent.length + step.length > MAX_PATH_CHARS ? `${parent}…` : parent + step;
}

/** A field path for messages; a key that is not a plain identifier is quoted, escaped and cut short. */
function child(parent: string, key: string): string {
  if (IDENTIFIER.test(key)) return extend(parent, `.${key}`);
  const shown = JSON.stringify(key.slice(0, 40)).replace(/[^\x20-\x7e]/g, "?");
  return extend(parent, `[${shown}]`);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const rulesOf = (policy: MediaUrlPolicy): UrlRules => ({
  schemes: ["https:", "http:"],
  allowList: policy.allowList,
});

function checkOne(field: string, value: unknown, rules: UrlRules): MediaUrlFailure | undefined {
  if (typeof value !== "string") return { field, message: `${field} must be an http(s) URL.` };
  const verdict = checkUrlLiterally(value, rules);
  if (verdict.ok) return undefined;
  const hint = verdict.reason.startsWith("points at")
    ? "; media URLs are fetched by APIXO and must be on the public internet " +
      "(an operator can allow a network in governance.mediaUrls.allowPrivateNetworks)."
    : ".";
  return { field, message: `${field} ${verdict.reason}${hint}` };
}

/** A URL field holds one URL or a list of them; null counts as absent. */
function checkField(field: string, value: unknown, rules: UrlRules): MediaUrlFailure | undefined {
  if (value === null) return undefined;
  if (!Array.isArray(value)) return checkOne(field, value, rules);
  for (const [i, item] of value.entries()) {
    const failure = checkOne(extend(field, `[${i}]`), item, rules);
    if (failure !== undefined) return failure;
  }
  return undefined;
}

/**
 * The first media URL in `input` that may not be forwarded, top-level fields first (breadth-first, so a deep
 * body cannot exhaust the stack).
 */
export function checkMediaUrls(
  input: Record<string, unknown>,
  policy: MediaUrlPolicy = PUBLIC_MEDIA_ONLY,
): MediaUrlFailure | undefined {
  const rules = rulesOf(policy);
  const queue: { path: string; value: unknown }[] = [{ path: "input", value: input }];
  // for-of visits what the loop appends: a queue without shift()'s O(n) per step.
  for (const { path, value } of queue) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (typeof item === "object" && item !== null)
          queue.push({ path: extend(path, `[${i}]`), value: item });
      });
      continue;
    }
    if (!isRecord(value)) continue;
    for (const [key, item] of Object.entries(value)) {
      const field = child(path, key);
      if (URL_KEY.test(key)) {
        const failure = checkField(field, item, rules);
        if (failure !== undefined) return failure;
        continue;
      }
      const nested = NESTED_URL_KEYS.get(key);
      if (nested !== undefined && Array.isArray(item)) {
        for (const [i, entry] of item.entries()) {
          if (!isRecord(entry) || entry[nested] === undefined) continue;
          const failure = checkField(child(extend(field, `[${i}]`), nested), entry[nested], rules);
          if (failure !== undefined) return failure;
        }
      }
      if (typeof item === "object" && item !== null) queue.push({ path: field, value: item });
    }
  }
  return undefined;
}
