import { accountTag } from "./keys.js";

/**
 * Redis keys of one upstream account (APIXO key, by alias), shared by every tenant using it. They carry the
 * hash tag `{acct:<alias>}`, and so do the keys of the account's tenants (keys.ts): a script that checks a
 * tenant and its account touches one cluster slot.
 */
export interface AccountKeys {
  /** The account's token bucket (hash {tokens, ts}), sized to APIXO's requests per minute. */
  readonly bucket: string;
  /** In-flight tasks of the account (zset: reservationId -> admission time ms). */
  readonly inflight: string;
}

export function accountKeys(prefix: string, upstream: string): AccountKeys {
  const base = accountTag(prefix, upstream);
  return { bucket: `${base}bucket`, inflight: `${base}inflight` };
}
