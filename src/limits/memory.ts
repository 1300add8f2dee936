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
import { MemoryReservations } from "./memoryReservations.js";
import { TtlMap } from "./ttlMap.js";
import { DAY_KEY_TTL_SEC, inflightReservation, inflightTask, tenantKeys, type TenantKeys } from "./keys.js";
import type {
  BucketSpec,
  DaySpend,
  ExpiredTask,
  GovernanceStore,
  LedgerAudit,
  NewTask,
  RateInfo,
  ReleaseRequest,
  ReleaseResult,
  ReservationRecord,
  SettleRequest,
  SettleResult,
  SimpleDecision,
  StatusDecision,
  StoredAnswer,
  SubmitDecision,
  SubmitRequest,
  TaskRecord,
  TenantSnapshot,
  UnknownOutcome,
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
  /** tenant -> `<day>|<taskId>` -> record time: the ledger check's index (pruned past the ledger TTL). */
  private readonly taskIndex = new Map<string, Map<string, number>>();
  private readonly accounts: MemoryAccounts;
  private readonly reservations_: MemoryReservations;
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
    this.reservations_ = new MemoryReservations(this.clock);
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

  /** Adds to a day's spend and its per-model split, as one charge (or, negative, one give-back). */
  private charge(k: TenantKeys, day: string, model: string, micros: number): number {
    if (micros !== 0) this.addModel(k.spendByModel(day), model, micros);
    return this.addCounter(k.spend(day), micros, DAY_TTL_MS);
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
    const { tenantId, reservationId } = request;
    if (this.reservations_.isVoid(tenantId, reservationId)) return { kind: "void" };
    const k = this.keys(tenantId);
    const now = this.clock.now();
    const cutoff = now - request.taskMaxAgeMs;
    const slots = this.slots(k);
    const idemKey = request.idempotency === undefined ? null : k.idem(request.idempotency.key);
    const { days } = request;
    const day =
      now < days.startTodayMs ? days.yesterday : now >= days.startTomorrowMs ? days.tomorrow : days.today;
    const held = idemKey === null ? undefined : this.idem.get(idemKey);
    const { tokens, denied } = this.checkBuckets(k, request.buckets);
    if (held?.state === "done") {
      // A replay is a governed answer: it takes a submit token (nothing else: no cost, no slot).
      if (denied !== null) return denied;
      const rate = this.take(k, request.buckets, tokens);
      return { kind: "replay", answer: held.answer, rate, spentMicros: this.counters.get(k.spend(day)) ?? 0 };
    }
    if (held?.state === "held" && (slots.get(inflightReservation(held.res))?.atMs ?? -Infinity) > cutoff) {
      return { kind: "in_progress" };
    }
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
    if (account !== undefined) this.accounts.take(account, { reservationId, cutoffMs: cutoff });
    const expired = this.expire(k, request.taskMaxAgeMs);
    slots.set(inflightReservation(reservationId), { atMs: now, model: request.model });
    this.reservations_.put({
      tenantId,
      reservationId,
      day,
      model: request.model,
      costMicros: request.costMicros,
      upstream: request.upstream,
      idempotencyKey: request.idempotency?.key,
      account: account !== undefined,
      admittedAtMs: now,
      state: "open",
      reason: undefined,
    });
    const spentMicros = this.charge(k, day, request.model, request.costMicros);
    if (idemKey !== null && request.idempotency !== undefined) {
      this.idem.set(idemKey, { state: "held", res: reservationId }, request.idempotency.ttlSec * 1000);
    }
    return { kind: "admitted", day, spentMicros, rate: after, expired };
  }

  async releaseReservation(request: ReleaseRequest): Promise<ReleaseResult> {
    await Promise.resolve();
    const { tenantId, reservationId } = request;
    const reservation = this.reservations_.get(tenantId, reservationId);
    if (reservation === undefined) {
      if (!this.reservations_.hasTombstone(tenantId, reservationId)) {
        this.reservations_.tombstone(tenantId, reservationId);
      }
      return { released: false, reservation: null };
    }
    if (!request.days.includes(reservation.day)) {
      throw new Error("release: the reservation is charged to a day not given");
    }
    const k = this.keys(tenantId);
    this.slots(k).delete(inflightReservation(reservationId));
    this.charge(k, reservation.day, reservation.model, -reservation.costMicros);
    this.reservations_.delete(tenantId, reservationId);
    if (request.account !== undefined) this.accounts.release(request.account.upstream, reservationId);
    if (request.idempotencyKey !== undefined) {
      const held = this.idem.get(k.idem(request.idempotencyKey));
      if (held?.state === "held" && held.res === reservationId)
        this.idem.delete(k.idem(request.idempotencyKey));
    }
    return { released: true, reservation };
  }

  async recordTask(task: NewTask): Promise<{ readonly recorded: boolean }> {
    await Promise.resolve();
    const k = this.keys(task.tenantId);
    if (this.tasks.get(k.task(task.taskId)) !== undefined) return { recorded: false };
    const { tenantId, taskId, model, reservationId, upstream } = task;
    const slots = this.slots(k);
    const now = this.clock.now();
    const reservation = this.reservations_.get(tenantId, reservationId);
    let state: TaskRecord["state"] = "pending";
    let { day, costMicros } = task;
    if (reservation !== undefined) {
      // The reservation becomes the task's charge: it is already in its day's spend.
      ({ day, costMicros } = reservation);
      this.reservations_.delete(tenantId, reservationId);
      const reserved = slots.get(inflightReservation(reservationId));
      slots.delete(inflightReservation(reservationId));
      // A reservation that outlived the max age already gave its slot back: the task is born expired.
      if (reserved === undefined) state = "expired";
      else slots.set(inflightTask(taskId), { atMs: reserved.atMs, model });
    } else {
      // No reservation (the admission never ran): charged here, and a late admission of the id takes nothing.
      this.charge(k, day, model, costMicros);
      slots.set(inflightTask(taskId), { atMs: now, model });
      this.reservations_.tombstone(tenantId, reservationId);
    }
    const ledger: Ledger = {
      taskId,
      tenantId,
      model,
      costMicros,
      day,
      reservationId,
      upstream,
      state,
      submittedAtMs: now,
      refundedMicros: 0,
    };
    this.tasks.set(k.task(taskId), ledger, task.ttlSec * 1000);
    this.index(tenantId, task.ttlSec * 1000).set(`${day}|${taskId}`, now);
    const idem = task.idempotency;
    if (idem === undefined) return { recorded: true };
    const holder = this.idem.get(k.idem(idem.key));
    if (holder === undefined || holder.res === reservationId) {
      this.idem.set(
        k.idem(idem.key),
        { state: "done", res: reservationId, answer: idem.answer },
        idem.ttlSec * 1000,
      );
    }
    return { recorded: true };
  }

  /** The tenant's task index, pruned of entries older than `ttlMs`. */
  private index(tenantId: string, ttlMs: number): Map<string, number> {
    let index = this.taskIndex.get(tenantId);
    if (index === undefined) this.taskIndex.set(tenantId, (index = new Map<string, number>()));
    const cutoff = this.clock.now() - ttlMs;
    for (const [member, atMs] of index) if (atMs < cutoff) index.delete(member);
    return index;
  }

  async markUnknown(outcome: UnknownOutcome): Promise<void> {
    await Promise.resolve();
    const { tenantId, reservationId, reason, charge } = outcome;
    const reservation = this.reservations_.get(tenantId, reservationId);
    if (reservation !== undefined) {
      this.reservations_.put({ ...reservation, state: "unknown", reason });
      return;
    }
    if (this.reservations_.hasTombstone(tenantId, reservationId)) return;
    const k = this.keys(tenantId);
    const now = this.clock.now();
    this.charge(k, charge.day, charge.model, charge.costMicros);
    this.slots(k).set(inflightReservation(reservationId), { atMs: now, model: charge.model });
    this.reservations_.put({
      tenantId,
      reservationId,
      ...charge,
      idempotencyKey: undefined,
      account: false,
      admittedAtMs: now,
      state: "unknown",
      reason,
    });
    this.reservations_.tombstone(tenantId, reservationId);
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
      this.charge(k, ledger.day, ledger.model, -refundedMicros);
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

  async markOrphans(tenantId: string, olderThanMs: number): Promise<readonly ReservationRecord[]> {
    await Promise.resolve();
    const now = this.clock.now();
    const marked: ReservationRecord[] = [];
    for (const reservation of this.reservations_.list(tenantId)) {
      if (reservation.admittedAtMs < now - DAY_TTL_MS) {
        this.reservations_.delete(tenantId, reservation.reservationId);
      } else if (reservation.state === "open" && reservation.admittedAtMs < now - olderThanMs) {
        const orphan: ReservationRecord = { ...reservation, state: "unknown", reason: "orphaned" };
        this.reservations_.put(orphan);
        marked.push(orphan);
      }
    }
    return marked;
  }

  async getTask(tenantId: string, taskId: string): Promise<TaskRecord | null> {
    await Promise.resolve();
    return this.view(this.keys(tenantId), tenantId, taskId);
  }

  async reservations(tenantId: string): Promise<readonly ReservationRecord[]> {
    await Promise.resolve();
    return this.reservations_.list(tenantId);
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
    return {
      tenantId,
      spentMicros: this.counters.get(k.spend(day)) ?? 0,
      inFlight: this.slots(k).size,
      unknownOutcomes: this.reservations_.list(tenantId).filter((r) => r.state === "unknown").length,
    };
  }

  async audit(tenantId: string, day: string): Promise<LedgerAudit> {
    const [spend] = await this.spendOfDays(tenantId, [day]);
    const k = this.keys(tenantId);
    const inFlight = [...this.slots(k)].map(([member, slot]) => ({ member, atMs: slot.atMs }));
    const slotTasks: Record<string, TaskRecord | null> = {};
    for (const { member } of inFlight) {
      if (member.startsWith("t:")) slotTasks[member.slice(2)] = this.view(k, tenantId, member.slice(2));
    }
    const prefix = `${day}|`;
    const indexed = [...(this.taskIndex.get(tenantId)?.keys() ?? [])].filter((m) => m.startsWith(prefix));
    return {
      day: spend ?? { day, spentMicros: 0, refundedMicros: 0, byModel: {} },
      tasks: indexed.map((member) => {
        const taskId = member.slice(prefix.length);
        return { taskId, record: this.view(k, tenantId, taskId) };
      }),
      reservations: this.reservations_.list(tenantId),
      inFlight,
      slotTasks,
      nowMs: this.clock.now(),
    };
  }

  async ping(): Promise<void> {
    await Promise.resolve();
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}
