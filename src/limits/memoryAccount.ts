import type { Clock } from "../clock.js";
import { bucketTtlMs, checkBuckets, takeTokens, type BucketState } from "./bucket.js";
import { accountKeys } from "./accountKeys.js";
import type { AccountDenial, AccountLimits, BucketSpec, RateInfo } from "./store.js";
import { SlotSet } from "./memorySlots.js";
import { TtlMap } from "./ttlMap.js";

/**
 * The in-memory store's account-wide limits (the Redis store does the same in lua/account.ts): one bucket
 * and one in-flight set per upstream alias, shared by every tenant of this process.
 */
export class MemoryAccounts {
  private readonly buckets: TtlMap<BucketState>;
  /** account inflight key -> reservation slots in admission order; like the Redis zset it has no TTL. */
  private readonly inflight = new Map<string, SlotSet>();

  constructor(private readonly clock: Clock) {
    this.buckets = new TtlMap(clock);
  }

  private slots(upstream: string): SlotSet {
    const key = accountKeys("mem", upstream).inflight;
    let slots = this.inflight.get(key);
    if (slots === undefined) this.inflight.set(key, (slots = new SlotSet()));
    return slots;
  }

  private specs(account: AccountLimits): BucketSpec[] {
    return account.bucket === null ? [] : [account.bucket];
  }

  /** The denial, if the account is at its limit; takes nothing. `cutoffMs` ages out unsettled slots. */
  check(account: AccountLimits, fallback: RateInfo, cutoffMs: number | null): AccountDenial | null {
    const specs = this.specs(account);
    const key = accountKeys("mem", account.upstream).bucket;
    const { denied } = checkBuckets(specs, () => this.buckets.get(key), this.clock.now());
    const base = { kind: "account_limited", upstream: account.upstream } as const;
    if (denied !== null) {
      return { ...base, reason: "rate", retryAfterSec: denied.retryAfterSec, rate: denied.rate };
    }
    if (account.maxInFlight === null || cutoffMs === null) return null;
    const live = this.slots(account.upstream).countLive(cutoffMs);
    if (live < account.maxInFlight) return null;
    return { ...base, reason: "concurrency", retryAfterSec: 1, rate: fallback };
  }

  /** Takes the account's token and, for a submit, its in-flight slot (dropping slots past the max age). */
  take(
    account: AccountLimits,
    slot: { readonly reservationId: string; readonly cutoffMs: number } | null,
  ): void {
    const specs = this.specs(account);
    const key = accountKeys("mem", account.upstream).bucket;
    const now = this.clock.now();
    const { tokens } = checkBuckets(specs, () => this.buckets.get(key), now);
    takeTokens(specs, tokens, (spec, state) => {
      this.buckets.set(key, { ...state, tsMs: now }, bucketTtlMs(spec));
    });
    if (slot === null) return;
    const slots = this.slots(account.upstream);
    slots.expire(slot.cutoffMs);
    slots.add(slot.reservationId, now, "");
  }

  release(upstream: string, reservationId: string): void {
    this.slots(upstream).delete(reservationId);
  }
}
