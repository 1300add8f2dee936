import type { Clock } from "../clock.js";
import { bucketTtlMs, checkBuckets, takeTokens, type BucketCheck, type BucketState } from "./bucket.js";
import { MemoryAccounts } from "./memoryAccount.js";
import { MemoryReservations } from "./memoryReservations.js";
import { SlotSet } from "./memorySlots.js";
import { TtlMap } from "./ttlMap.js";
import { usageField } from "./caps.js";
import { DAY_KEY_TTL_SEC, MONTH_KEY_TTL_SEC, inflightTask, tenantKeys, type TenantKeys } from "./keys.js";
import {
  monthOf,
  type Attribution,
  type BucketSpec,
  type ExpiredTask,
  type RateInfo,
  type StoredAnswer,
  type TaskRecord,
} from "./store.js";

export type IdemRecord =
  | { readonly state: "held"; readonly res: string }
  | { readonly state: "done"; readonly res: string; readonly answer: StoredAnswer };
export type Ledger = { -readonly [K in keyof TaskRecord]: TaskRecord[K] };

/** The attribution a reservation or ledger record keeps (undefined fields: none given). */
export function attributionOf(record: {
  readonly user?: string | undefined;
  readonly feature?: string | undefined;
}): Attribution {
  return {
    ...(record.user === undefined ? {} : { user: record.user }),
    ...(record.feature === undefined ? {} : { feature: record.feature }),
  };
}

export const DAY_TTL_MS = DAY_KEY_TTL_SEC * 1000;
export const MONTH_TTL_MS = MONTH_KEY_TTL_SEC * 1000;

/**
 * The in-memory store's state and the helpers its operations share (MemoryStore, memory.ts): the same keys and
 * rules as the Redis scripts, timed by an injected clock.
 */
export class MemoryState {
  readonly clock: Clock;
  readonly buckets: TtlMap<BucketState>;
  readonly counters: TtlMap<number>;
  readonly models: TtlMap<Map<string, number>>;
  /** Usage hashes (keys.ts `usage`): the rollups by user and feature of a day or month. */
  readonly usage: TtlMap<Map<string, number>>;
  readonly tasks: TtlMap<Ledger>;
  readonly idem: TtlMap<IdemRecord>;
  /** tenant inflight key -> slots in admission order; like the Redis zset it has no TTL. */
  readonly inflight = new Map<string, SlotSet>();
  /**
   * tenant -> `<day>|<taskId>` -> record time, in record order: the ledger check's index (pruned past the
   * ledger TTL from its oldest end).
   */
  readonly taskIndex = new Map<string, Map<string, number>>();
  /** Tenant keys built once per tenant: they are asked for on every request. */
  private readonly tenantKeyCache = new Map<string, TenantKeys>();
  readonly accounts: MemoryAccounts;
  readonly reservations: MemoryReservations;
  /** Terminal answers (the status cache), held by the ledger record so they share its TTL. */
  readonly answers = new WeakMap<Ledger, StoredAnswer>();

  constructor(options: { readonly clock: Clock }) {
    this.clock = options.clock;
    this.buckets = new TtlMap(this.clock);
    this.counters = new TtlMap(this.clock);
    this.models = new TtlMap(this.clock);
    this.usage = new TtlMap(this.clock);
    this.tasks = new TtlMap(this.clock);
    this.idem = new TtlMap(this.clock);
    this.accounts = new MemoryAccounts(this.clock);
    this.reservations = new MemoryReservations(this.clock);
  }

  /** Ledger records, idempotency records and reservations held, after evicting the expired ones. */
  recordsHeld(): number {
    this.tasks.evictExpired();
    this.idem.evictExpired();
    return this.tasks.size + this.idem.size + this.reservations.size;
  }

  keys(tenantId: string): TenantKeys {
    let k = this.tenantKeyCache.get(tenantId);
    if (k === undefined) {
      // Tenant ids come from the configuration; the bound only stops arbitrary admin look-ups piling up.
      if (this.tenantKeyCache.size >= 100_000) this.tenantKeyCache.clear();
      this.tenantKeyCache.set(tenantId, (k = tenantKeys("mem", tenantId)));
    }
    return k;
  }

  slots(k: TenantKeys): SlotSet {
    let slots = this.inflight.get(k.inflight);
    if (slots === undefined) this.inflight.set(k.inflight, (slots = new SlotSet()));
    return slots;
  }

  addCounter(key: string, delta: number, ttlMs: number): number {
    const total = (this.counters.get(key) ?? 0) + delta;
    this.counters.set(key, total, ttlMs);
    return total;
  }

  addModel(key: string, model: string, delta: number): void {
    const byModel = this.models.get(key) ?? new Map<string, number>();
    const net = (byModel.get(model) ?? 0) + delta;
    if (net === 0) byModel.delete(model);
    else byModel.set(model, net);
    this.models.set(key, byModel, DAY_TTL_MS);
  }

  private addUsage(
    key: string,
    attribution: Attribution,
    micros: number,
    count: number,
    ttlMs: number,
  ): void {
    const hash = this.usage.get(key) ?? new Map<string, number>();
    for (const [tag, name] of [
      ["u", attribution.user],
      ["f", attribution.feature],
    ] as const) {
      if (name === undefined) continue;
      const spend = usageField(tag, name, "spend");
      const tasks = usageField(tag, name, "tasks");
      const spent = (hash.get(spend) ?? 0) + micros;
      const n = (hash.get(tasks) ?? 0) + count;
      if (spent === 0 && n === 0) {
        hash.delete(spend);
        hash.delete(tasks);
      } else hash.set(spend, spent).set(tasks, n);
    }
    this.usage.set(key, hash, ttlMs);
  }

  /**
   * One charge (count 1), give-back (negative, count -1) or refund (negative, count 0: the task happened) of a
   * day, in every window it belongs to: the day's spend and per-model split, its month, and the rollups of
   * both by user and feature (lua/spend.ts add_spend). Returns the day's new spend.
   */
  charge(
    k: TenantKeys,
    day: string,
    model: string,
    micros: number,
    count: number,
    attribution: Attribution,
  ): number {
    const month = monthOf(day);
    if (micros !== 0) this.addModel(k.spendByModel(day), model, micros);
    this.addCounter(k.spend(month), micros, MONTH_TTL_MS);
    if (attribution.user !== undefined || attribution.feature !== undefined) {
      this.addUsage(k.usage(day), attribution, micros, count, DAY_TTL_MS);
      this.addUsage(k.usage(month), attribution, micros, count, MONTH_TTL_MS);
    }
    return this.addCounter(k.spend(day), micros, DAY_TTL_MS);
  }

  checkBuckets(k: TenantKeys, specs: readonly BucketSpec[]): BucketCheck {
    return checkBuckets(specs, (s) => this.buckets.get(k.bucket(s.name)), this.clock.now());
  }

  take(k: TenantKeys, specs: readonly BucketSpec[], tokens: readonly number[]): RateInfo {
    const now = this.clock.now();
    return takeTokens(specs, tokens, (spec, state) => {
      this.buckets.set(k.bucket(spec.name), { ...state, tsMs: now }, bucketTtlMs(spec));
    });
  }

  expire(k: TenantKeys, maxAgeMs: number): ExpiredTask[] {
    const expired: ExpiredTask[] = [];
    for (const slot of this.slots(k).expire(this.clock.now() - maxAgeMs)) {
      if (slot.member.startsWith("t:")) expired.push({ taskId: slot.member.slice(2), model: slot.model });
    }
    return expired;
  }

  /** The tenant's task index, pruned of entries older than `ttlMs`. */
  index(tenantId: string, ttlMs: number): Map<string, number> {
    let index = this.taskIndex.get(tenantId);
    if (index === undefined) this.taskIndex.set(tenantId, (index = new Map<string, number>()));
    const cutoff = this.clock.now() - ttlMs;
    for (const [member, atMs] of index) {
      if (atMs >= cutoff) break;
      index.delete(member);
    }
    return index;
  }

  view(k: TenantKeys, tenantId: string, taskId: string): TaskRecord | null {
    const ledger = this.tasks.get(k.task(taskId));
    if (ledger?.tenantId !== tenantId) return null;
    const live = this.slots(k).has(inflightTask(taskId));
    return { ...ledger, state: ledger.state === "pending" && !live ? "expired" : ledger.state };
  }
}
