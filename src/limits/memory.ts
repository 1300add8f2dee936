import type { Clock } from "../clock.js";
import {
  bucketTtlMs,
  checkBuckets,
  takeTokens,
  tightest,
  type BucketCheck,
  type BucketState,
} from "./bucket.js";
import { MemoryAccounts } from "./memoryAccount.js";
import { TtlMap } from "./ttlMap.js";
import { DAY_KEY_TTL_SEC, inflightReservation, inflightTask, tenantKeys, type TenantKeys } from "./keys.js";
import type {
  BucketSpec,
  DaySpend,
  ExpiredTask,
  GovernanceStore,
  NewTask,
  RateInfo,
  SettleRequest,
  SettleResult,
  SimpleDecision,
  StatusDecision,
  StoredAnswer,
  SubmitDecision,
  SubmitRequest,
  TaskRecord,
  TenantSnapshot,
} from "./store.js";

type IdemRecord =
  | { readonly state: "held"; readonly res: string }
  | { readonly state: "done"; readonly res: string; readonly answer: StoredAnswer };
type Ledger = { -readonly [K in keyof TaskRecord]: TaskRecord[K] };
interface Slot {
  readonly atMs: number;
  readonly model: string;
}

const DAY_TTL_MS = DAY_KEY_TTL_SEC * 1000;

/** Single-process GovernanceStore with the Redis store's semantics, timed by an injected clock. */
export class MemoryStore implements GovernanceStore {
  private readonly clock: Clock;
  private readonly buckets: TtlMap<BucketState>;
  private readonly counters: TtlMap<number>;
  private readonly models: TtlMap<Map<string, number>>;
  private readonly tasks: TtlMap<Ledger>;
  private readonly idem: TtlMap<IdemRecord>;
  /** tenant inflight key -> member -> slot; like the Redis zset it has no TTL. */
  private readonly inflight = new Map<string, Map<string, Slot>>();
  private readonly accounts: MemoryAccounts;
  /** Terminal answers (the status cache), held by the ledger record so they share its TTL. */
  private readonly answers = new WeakMap<Ledger, StoredAnswer>();

  constructor(options: { readonly clock: Clock }) {
    this.clock = options.clock;
    this.buckets = new TtlMap(this.clock);
    this.counters = new TtlMap(this.clock);
    this.models = new TtlMap(this.clock);
    this.tasks = new TtlMap(this.clock);
    this.idem = new TtlMap(this.clock);
    this.accounts = new MemoryAccounts(this.clock);
  }

  private keys(tenantId: string): TenantKeys {
    return tenantKeys("mem", tenantId);
  }

  private slots(k: TenantKeys): Map<string, Slot> {
    let slots = this.inflight.get(k.inflight);
    if (slots === undefined) this.inflight.set(k.inflight, (slots = new Map<string, Slot>()));
    return slots;
  }

  private addCounter(key: string, delta: number, ttlMs: number): number {
    const total = (this.counters.get(key) ?? 0) + delta;
    this.counters.set(key, total, ttlMs);
    return total;
  }

  private addModel(key: string, model: string, delta: number): void {
    const byModel = this.models.get(key) ?? new Map<string, number>();
    const net = (byModel.get(model) ?? 0) + delta;
    if (net === 0) byModel.delete(model);
    else byModel.set(model, net);
    this.models.set(key, byModel, DAY_TTL_MS);
  }

  private checkBuckets(k: TenantKeys, specs: readonly BucketSpec[]): BucketCheck {
    return checkBuckets(specs, (s) => this.buckets.get(k.bucket(s.name)), this.clock.now());
  }

  private take(k: TenantKeys, specs: readonly BucketSpec[], tokens: readonly number[]): RateInfo {
    const now = this.clock.now();
    return takeTokens(specs, tokens, (spec, state) => {
      this.buckets.set(k.bucket(spec.name), { ...state, tsMs: now }, bucketTtlMs(spec));
    });
  }

  private expire(k: TenantKeys, maxAgeMs: number): ExpiredTask[] {
    const cutoff = this.clock.now() - maxAgeMs;
    const expired: ExpiredTask[] = [];
    const slots = this.slots(k);
    for (const [member, slot] of [...slots].sort((a, b) => a[1].atMs - b[1].atMs)) {
      if (slot.atMs > cutoff) continue;
      slots.delete(member);
      if (member.startsWith("t:")) expired.push({ taskId: member.slice(2), model: slot.model });
    }
    return expired;
  }

  async admitSubmit(request: SubmitRequest): Promise<SubmitDecision> {
    await Promise.resolve();
    const k = this.keys(request.tenantId);
    const now = this.clock.now();
    const cutoff = now - request.taskMaxAgeMs;
    const slots = this.slots(k);
    const idemKey = request.idempotency === undefined ? null : k.idem(request.idempotency.key);
    const held = idemKey === null ? undefined : this.idem.get(idemKey);
    if (held?.state === "done") return { kind: "replay", answer: held.answer };
    if (held?.state === "held" && (slots.get(inflightReservation(held.res))?.atMs ?? -Infinity) > cutoff) {
      return { kind: "in_progress" };
    }
    const { tokens, denied } = this.checkBuckets(k, request.buckets);
    if (denied !== null) return denied;
    const rate = tightest(request.buckets, tokens);
    const live = [...slots.values()].filter((s) => s.atMs > cutoff).length;
    if (request.maxInFlight !== null && live >= request.maxInFlight) {
      return {
        kind: "concurrency_limited",
        inFlight: live,
        limit: request.maxInFlight,
        retryAfterSec: 1,
        rate,
      };
    }
    const { days } = request;
    const day =
      now < days.startTodayMs ? days.yesterday : now >= days.startTomorrowMs ? days.tomorrow : days.today;
    const spent = this.counters.get(k.spend(day)) ?? 0;
    if (request.capMicros !== null && spent + request.costMicros > request.capMicros) {
      return {
        kind: "spend_cap",
        capMicros: request.capMicros,
        spentMicros: spent,
        costMicros: request.costMicros,
        rate,
      };
    }
    const account = request.account;
    const accountDenial = account === undefined ? null : this.accounts.check(account, rate, cutoff);
    if (accountDenial !== null) return accountDenial;
    const after = this.take(k, request.buckets, tokens);
    if (account !== undefined)
      this.accounts.take(account, { reservationId: request.reservationId, cutoffMs: cutoff });
    const expired = this.expire(k, request.taskMaxAgeMs);
    slots.set(inflightReservation(request.reservationId), { atMs: now, model: request.model });
    const spentMicros = this.addCounter(k.spend(day), request.costMicros, DAY_TTL_MS);
    this.addModel(k.spendByModel(day), request.model, request.costMicros);
    if (idemKey !== null && request.idempotency !== undefined) {
      this.idem.set(
        idemKey,
        { state: "held", res: request.reservationId },
        request.idempotency.ttlSec * 1000,
      );
    }
    return { kind: "admitted", day, spentMicros, rate: after, expired };
  }

  async releaseReservation(request: Parameters<GovernanceStore["releaseReservation"]>[0]): Promise<void> {
    await Promise.resolve();
    const k = this.keys(request.tenantId);
    if (this.slots(k).delete(inflightReservation(request.reservationId))) {
      this.addCounter(k.spend(request.day), -request.costMicros, DAY_TTL_MS);
      if (request.costMicros > 0)
        this.addModel(k.spendByModel(request.day), request.model, -request.costMicros);
    }
    if (request.account !== undefined) this.accounts.release(request.account.upstream, request.reservationId);
    if (request.idempotencyKey === undefined) return;
    const held = this.idem.get(k.idem(request.idempotencyKey));
    if (held?.state === "held" && held.res === request.reservationId)
      this.idem.delete(k.idem(request.idempotencyKey));
  }

  async recordTask(task: NewTask): Promise<void> {
    await Promise.resolve();
    const k = this.keys(task.tenantId);
    if (this.tasks.get(k.task(task.taskId)) !== undefined) return;
    const slots = this.slots(k);
    const reserved = slots.get(inflightReservation(task.reservationId));
    if (reserved !== undefined) {
      slots.delete(inflightReservation(task.reservationId));
      slots.set(inflightTask(task.taskId), { atMs: reserved.atMs, model: task.model });
    }
    const { tenantId, taskId, model, costMicros, day, reservationId, upstream } = task;
    // A reservation that outlived the max age already gave its slot back: the task is born expired.
    const state = reserved === undefined ? "expired" : "pending";
    const submittedAtMs = this.clock.now();
    const ledger: Ledger = {
      taskId,
      tenantId,
      model,
      costMicros,
      day,
      reservationId,
      upstream,
      state,
      submittedAtMs,
      refundedMicros: 0,
    };
    this.tasks.set(k.task(taskId), ledger, task.ttlSec * 1000);
    const idem = task.idempotency;
    if (idem === undefined) return;
    const holder = this.idem.get(k.idem(idem.key));
    if (holder === undefined || holder.res === reservationId) {
      this.idem.set(
        k.idem(idem.key),
        { state: "done", res: reservationId, answer: idem.answer },
        idem.ttlSec * 1000,
      );
    }
  }

  private view(k: TenantKeys, tenantId: string, taskId: string): TaskRecord | null {
    const ledger = this.tasks.get(k.task(taskId));
    if (ledger?.tenantId !== tenantId) return null;
    const live = this.slots(k).has(inflightTask(taskId));
    return { ...ledger, state: ledger.state === "pending" && !live ? "expired" : ledger.state };
  }

  async admitStatus(request: Parameters<GovernanceStore["admitStatus"]>[0]): Promise<StatusDecision> {
    await Promise.resolve();
    const k = this.keys(request.tenantId);
    const { tokens, denied } = this.checkBuckets(k, request.buckets);
    if (denied !== null) return denied;
    const task = this.view(k, request.tenantId, request.taskId);
    const ledger = task === null ? undefined : this.tasks.get(k.task(request.taskId));
    const cached = ledger === undefined ? undefined : this.answers.get(ledger);
    // The account's token pays for an APIXO call: none is made for someone else's task or a cached answer.
    if (request.account !== undefined && task !== null && cached === undefined) {
      const denial = this.accounts.check(request.account, tightest(request.buckets, tokens), null);
      if (denial !== null) return denial;
      this.accounts.take(request.account, null);
    }
    const rate = this.take(k, request.buckets, tokens);
    return { kind: "admitted", rate, task, ...(cached === undefined ? {} : { cached }) };
  }

  async admitSimple(request: Parameters<GovernanceStore["admitSimple"]>[0]): Promise<SimpleDecision> {
    await Promise.resolve();
    const k = this.keys(request.tenantId);
    const { tokens, denied } = this.checkBuckets(k, request.buckets);
    if (denied !== null) return denied;
    return { kind: "admitted", rate: this.take(k, request.buckets, tokens) };
  }

  async settleTask(request: SettleRequest): Promise<SettleResult> {
    await Promise.resolve();
    const k = this.keys(request.tenantId);
    const ledger = this.tasks.get(k.task(request.taskId));
    const before = this.view(k, request.tenantId, request.taskId);
    if (ledger === undefined || before === null || before.state === "success" || before.state === "failed") {
      if (
        ledger !== undefined &&
        before !== null &&
        request.answer !== undefined &&
        !this.answers.has(ledger)
      )
        this.answers.set(ledger, request.answer);
      return { settled: false, refundedMicros: 0, slotReleased: false, task: before };
    }
    if (request.day !== undefined && request.day !== ledger.day) {
      throw new Error("settle: the day given does not match the ledger record");
    }
    const slotReleased = this.slots(k).delete(inflightTask(request.taskId));
    if (request.account !== undefined) this.accounts.release(request.account.upstream, ledger.reservationId);
    if (request.answer !== undefined) this.answers.set(ledger, request.answer);
    let refundedMicros = 0;
    if (request.state === "failed" && request.refund && ledger.costMicros > 0) {
      refundedMicros = ledger.costMicros;
      this.addCounter(k.spend(ledger.day), -refundedMicros, DAY_TTL_MS);
      this.addModel(k.spendByModel(ledger.day), ledger.model, -refundedMicros);
      this.addCounter(k.refund(ledger.day), refundedMicros, DAY_TTL_MS);
    }
    ledger.state = request.state;
    ledger.refundedMicros += refundedMicros;
    if (request.failCode !== undefined && request.failCode !== "") ledger.failCode = request.failCode;
    return { settled: true, refundedMicros, slotReleased, task: { ...ledger } };
  }

  async sweepExpired(tenantId: string, maxAgeMs: number): Promise<readonly ExpiredTask[]> {
    await Promise.resolve();
    return this.expire(this.keys(tenantId), maxAgeMs);
  }

  async getTask(tenantId: string, taskId: string): Promise<TaskRecord | null> {
    await Promise.resolve();
    return this.view(this.keys(tenantId), tenantId, taskId);
  }

  async spendOfDays(tenantId: string, days: readonly string[]): Promise<readonly DaySpend[]> {
    await Promise.resolve();
    const k = this.keys(tenantId);
    return days.map((day) => ({
      day,
      spentMicros: this.counters.get(k.spend(day)) ?? 0,
      refundedMicros: this.counters.get(k.refund(day)) ?? 0,
      byModel: Object.fromEntries(this.models.get(k.spendByModel(day)) ?? []),
    }));
  }

  async snapshot(tenantId: string, day: string): Promise<TenantSnapshot> {
    await Promise.resolve();
    const k = this.keys(tenantId);
    return { tenantId, spentMicros: this.counters.get(k.spend(day)) ?? 0, inFlight: this.slots(k).size };
  }

  async ping(): Promise<void> {
    await Promise.resolve();
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}
