/**
 * Redis keys of one upstream account (APIXO key, by alias), shared by every tenant using it. They carry the
 * hash tag `{acct:<alias>}`, so a script that checks a tenant and its account touches two cluster slots: fine
 * on a single node or Sentinel; Redis Cluster would need the account check as a second script (see
 * docs/upstream-protection.md).
 */
export interface AccountKeys {
  /** The account's token bucket (hash {tokens, ts}), sized to APIXO's requests per minute. */
  readonly bucket: string;
  /** In-flight tasks of the account (zset: reservationId -> admission time ms). */
  readonly inflight: string;
}

export function accountKeys(prefix: string, upstream: string): AccountKeys {
  if (upstream === "" || /[{}]/.test(upstream)) {
    throw new Error(`upstream alias must be non-empty and free of braces: ${JSON.stringify(upstream)}`);
  }
  const base = `${prefix}:{acct:${upstream}}:`;
  return { bucket: `${base}bucket`, inflight: `${base}inflight` };
}
