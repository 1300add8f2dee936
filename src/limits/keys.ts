/**
 * The one place Redis keys are built; scripts never build key names themselves. Every key of a tenant carries
 * its upstream account's hash tag `{acct:<alias>}`, the tag of the account's own keys (accountKeys.ts), so a
 * script that decides a tenant and the account it shares touches one cluster slot (docs/scaling.md). Without
 * an account (the memory store, where slots mean nothing) the tag is the tenant's own.
 */

/** Spend keys outlive their day so the admin can show the last weeks. */
export const DAY_KEY_TTL_SEC = 40 * 86_400;

/** Month keys (spend, rollups) outlive their month by a year, so usage can be compared year over year. */
export const MONTH_KEY_TTL_SEC = 400 * 86_400;

/**
 * How long a tombstone refuses a late admission. A late admission is a command Redis had not yet run when the
 * gateway stopped waiting (a stalled or paused server, a connection lost mid-command); a day is far beyond any
 * stall a gateway outlives, and tombstones are written only on those fault paths.
 */
export const TOMBSTONE_TTL_SEC = 86_400;

export interface TenantKeys {
  /** Token bucket state (hash {tokens, ts}). */
  bucket(name: string): string;
  /** Net spend of a tenant-local day ("YYYY-MM-DD") or month ("YYYY-MM") in micro-USD (charges minus refunds). */
  spend(period: string): string;
  /**
   * Attributed spend of a day or month (hash): `u:<user>` / `f:<feature>` -> net micro-USD, `u#:<user>` /
   * `f#:<feature>` -> tasks charged.
   */
  usage(period: string): string;
  /** Net spend of a day per model (hash model -> micro-USD). */
  spendByModel(day: string): string;
  /** Refunds credited to a day in micro-USD. */
  refund(day: string): string;
  /** In-flight slots (zset: `r:<reservationId>` / `t:<taskId>` -> admission time ms). */
  readonly inflight: string;
  /** Model of each in-flight member (hash member -> model), so expiry can report it without the ledger. */
  readonly inflightModels: string;
  /** Ledger record of one task (hash). */
  task(taskId: string): string;
  /** Idempotency record of one Idempotency-Key (hash). */
  idem(key: string): string;
  /** Reservations not yet charged to a task nor released (hash reservationId -> JSON record). */
  readonly reservations: string;
  /**
   * Marks a reservation id that was released or charged without the store holding its reservation (string,
   * with a TTL): an admission of that id that Redis runs later, after the gateway gave up on it, takes nothing.
   */
  tombstone(reservationId: string): string;
  /** Every recorded task (zset `<day>|<taskId>` -> record time ms), pruned past the ledger TTL: the check's index. */
  readonly tasks: string;
}

/** `<prefix>:{acct:<alias>}:`, the start of every key that lives in an account's slot. */
export function accountTag(prefix: string, upstream: string): string {
  if (upstream === "" || /[{}]/.test(upstream)) {
    throw new Error(`upstream alias must be non-empty and free of braces: ${JSON.stringify(upstream)}`);
  }
  return `${prefix}:{acct:${upstream}}:`;
}

/** The part of a key Redis Cluster hashes (`{...}`): keys with the same tag are in one slot. */
export function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  return open === -1 || close === -1 ? key : key.slice(open + 1, close);
}

export function inflightReservation(reservationId: string): string {
  return `r:${reservationId}`;
}

export function inflightTask(taskId: string): string {
  return `t:${taskId}`;
}

export function tenantKeys(prefix: string, tenantId: string, account?: string): TenantKeys {
  if (tenantId === "" || /[{}]/.test(tenantId)) {
    // A brace would change which part of the key Redis hashes, splitting a tenant over several slots.
    throw new Error(`tenant id must be non-empty and free of braces: ${JSON.stringify(tenantId)}`);
  }
  const base =
    account === undefined ? `${prefix}:{${tenantId}}:` : `${accountTag(prefix, account)}t:${tenantId}:`;
  return {
    bucket: (name) => `${base}bucket:${name}`,
    spend: (period) => `${base}spend:${period}`,
    usage: (period) => `${base}usage:${period}`,
    spendByModel: (day) => `${base}spendm:${day}`,
    refund: (day) => `${base}refund:${day}`,
    inflight: `${base}inflight`,
    inflightModels: `${base}inflightm`,
    task: (taskId) => `${base}task:${taskId}`,
    idem: (key) => `${base}idem:${key}`,
    reservations: `${base}resv`,
    tombstone: (reservationId) => `${base}resvx:${reservationId}`,
    tasks: `${base}tasks`,
  };
}
