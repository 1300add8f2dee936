import type { BucketSpec, RateInfo, SimpleDecision } from "./store.js";

/**
 * Token-bucket arithmetic for the in-memory store. The Redis scripts (lua/common.ts) implement the same
 * formulas; the contract suite holds both to them.
 */

export const EMPTY_RATE: RateInfo = { limit: 0, remaining: 0, resetSec: 0 };

export function assertBuckets(buckets: readonly BucketSpec[]): void {
  for (const b of buckets) {
    if (
      !(b.ratePerSec > 0) ||
      !(b.burst >= 1) ||
      !Number.isFinite(b.ratePerSec) ||
      !Number.isFinite(b.burst)
    ) {
      throw new RangeError(`bucket ${b.name}: ratePerSec must be > 0 and burst >= 1`);
    }
  }
}

export interface BucketState {
  readonly tokens: number;
  readonly tsMs: number;
}

export function refilled(spec: BucketSpec, state: BucketState | undefined, nowMs: number): number {
  if (state === undefined) return spec.burst;
  const elapsedMs = Math.max(0, nowMs - state.tsMs);
  return Math.min(spec.burst, state.tokens + (elapsedMs * spec.ratePerSec) / 1000);
}

export function rateInfo(spec: BucketSpec, tokens: number): RateInfo {
  return {
    limit: spec.burst,
    remaining: Math.floor(tokens),
    resetSec: Math.ceil((spec.burst - tokens) / spec.ratePerSec),
  };
}

/** The bucket closest to empty (ties: the one that takes longest to refill) sets the headers. */
export function tightest(specs: readonly BucketSpec[], tokens: readonly number[]): RateInfo {
  let best = EMPTY_RATE;
  for (const [i, spec] of specs.entries()) {
    const info = rateInfo(spec, tokens[i] ?? 0);
    const tighter =
      info.remaining < best.remaining || (info.remaining === best.remaining && info.resetSec > best.resetSec);
    if (i === 0 || tighter) best = info;
  }
  return best;
}

/** The empty bucket that needs the longest wait: every bucket must hold a token for the request to pass. */
export function firstDenial(
  specs: readonly BucketSpec[],
  tokens: readonly number[],
): { readonly index: number; readonly retryAfterSec: number } | null {
  let denial: { index: number; retryAfterSec: number } | null = null;
  for (const [i, spec] of specs.entries()) {
    const have = tokens[i] ?? 0;
    if (have >= 1) continue;
    const retryAfterSec = Math.max(1, Math.ceil((1 - have) / spec.ratePerSec));
    if (denial === null || retryAfterSec > denial.retryAfterSec) denial = { index: i, retryAfterSec };
  }
  return denial;
}

/** Idle buckets are full; keeping them twice the time to fill is enough to never lose a partial state. */
export function bucketTtlMs(spec: BucketSpec): number {
  return Math.max(1000, Math.ceil((spec.burst / spec.ratePerSec) * 2000));
}

export interface BucketCheck {
  /** Refilled tokens per bucket, before taking. */
  readonly tokens: readonly number[];
  readonly denied: Extract<SimpleDecision, { kind: "rate_limited" }> | null;
}

/** Refills every bucket and finds the denial, if any; takes nothing. */
export function checkBuckets(
  specs: readonly BucketSpec[],
  stateOf: (spec: BucketSpec) => BucketState | undefined,
  nowMs: number,
): BucketCheck {
  assertBuckets(specs);
  const tokens = specs.map((s) => refilled(s, stateOf(s), nowMs));
  const denial = firstDenial(specs, tokens);
  const spec = denial === null ? undefined : specs[denial.index];
  if (denial === null || spec === undefined) return { tokens, denied: null };
  const rate = rateInfo(spec, tokens[denial.index] ?? 0);
  return {
    tokens,
    denied: { kind: "rate_limited", bucket: spec.name, retryAfterSec: denial.retryAfterSec, rate },
  };
}

/** Takes one token from each bucket (the caller checked they all hold one) and returns the headers' values. */
export function takeTokens(
  specs: readonly BucketSpec[],
  tokens: readonly number[],
  save: (spec: BucketSpec, state: { readonly tokens: number }) => void,
): RateInfo {
  const after = tokens.map((t) => t - 1);
  for (const [i, spec] of specs.entries()) save(spec, { tokens: after[i] ?? 0 });
  return tightest(specs, after);
}
