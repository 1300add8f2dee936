import type { Clock } from "../clock.js";
import { tightest } from "./bucket.js";
import { inflightReservation, inflightTask } from "./keys.js";
import type {
  DaySpend,
  ExpiredTask,
  GovernanceStore,
  LedgerAudit,
  NewTask,
  ReleaseRequest,
  ReleaseResult,
  ReservationRecord,
  SettleRequest,
  SettleResult,
  SimpleDecision,
  StatusDecision,
  SubmitDecision,
  SubmitRequest,
  TaskRecord,
  TenantSnapshot,
  UnknownOutcome,
  UsageRollup,
} from "./store.js";
import { monthOf } from "./store.js";
import { daysOfMonth } from "./days.js";
import { rollupsFrom, usageField } from "./caps.js";
import { DAY_TTL_MS, MONTH_TTL_MS, MemoryState, attributionOf, type Ledger } from "./memoryState.js";
import { admitSubmit } from "./memorySubmit.js";

/** The default bound on records held (ledger records, idempotency records, reservations). */
export const DEFAULT_MAX_RECORDS = 1_000_000;

export interface MemoryStoreOptions {
  readonly clock: Clock;
  /**
   * Admissions are refused (StoreUnavailable, nothing taken) while the store holds this many records after
   * evicting expired ones; the failure policy then applies. Records of tasks APIXO accepted are always kept.
   */
  readonly maxRecords?: number;
}

/**
 * Single-process GovernanceStore with the Redis store's semantics, timed by an injected clock. Every request
 * costs O(1) whatever the tasks in flight or recorded (slots in admission order, expiry from the oldest end),
 * and every record leaves at its TTL (src/limits/ttlMap.ts), as the Redis keys do.
 */
export class MemoryStore implements GovernanceStore {
  /** Calls run in the order they are made, in this process. */
  readonly answersOnSend = true;
  private readonly s: MemoryState;
  private readonly maxRecords: number;

  constructor(options: MemoryStoreOptions) {
    this.s = new MemoryState(options);
    this.maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  }

  async admitSubmit(request: SubmitRequest): Promise<SubmitDecision> {
    await Promise.resolve();
    return admitSubmit(this.s, this.maxRecords, request);
  }

  async releaseReservation(request: ReleaseRequest): Promise<ReleaseResult> {
    await Promise.resolve();
    const { tenantId, reservationId } = request;
    const reservation = this.s.reservations.get(tenantId, reservationId);
    if (reservation === undefined) {
      if (!this.s.reservations.hasTombstone(tenantId, reservationId)) {
        this.s.reservations.tombstone(tenantId, reservationId);
      }
      return { released: false, reservation: null };
    }
    if (!request.days.includes(reservation.day)) {
      throw new Error("release: the reservation is charged to a day not given");
    }
    const k = this.s.keys(tenantId);
    this.s.slots(k).delete(inflightReservation(reservationId));
    this.s.charge(
      k,
      reservation.day,
      reservation.model,
      -reservation.costMicros,
      -1,
      attributionOf(reservation),
    );
    this.s.reservations.delete(tenantId, reservationId);
    if (request.account !== undefined) this.s.accounts.release(request.account.upstream, reservationId);
    if (request.idempotencyKey !== undefined) {
      const held = this.s.idem.get(k.idem(request.idempotencyKey));
      if (held?.state === "held" && held.res === reservationId)
        this.s.idem.delete(k.idem(request.idempotencyKey));
    }
    return { released: true, reservation };
  }

  async recordTasks(tasks: readonly NewTask[]): Promise<readonly { readonly recorded: boolean }[]> {
    const results = [];
    for (const task of tasks) results.push(await this.recordTask(task));
    return results;
  }

  async recordTask(task: NewTask): Promise<{ readonly recorded: boolean }> {
    await Promise.resolve();
    const k = this.s.keys(task.tenantId);
    if (this.s.tasks.get(k.task(task.taskId)) !== undefined) return { recorded: false };
    const { tenantId, taskId, model, reservationId, upstream } = task;
    const slots = this.s.slots(k);
    const now = this.s.clock.now();
    const reservation = this.s.reservations.get(tenantId, reservationId);
    let state: TaskRecord["state"] = "pending";
    let { day, costMicros, attribution } = task;
    if (reservation !== undefined) {
      // The reservation becomes the task's charge: it is already in its day's spend, attributed as admitted.
      ({ day, costMicros } = reservation);
      attribution = attributionOf(reservation);
      this.s.reservations.delete(tenantId, reservationId);
      // The slot keeps its admission time and place. A reservation that outlived the max age already gave
      // its slot back: the task is born expired.
      const reserved = slots.rename(inflightReservation(reservationId), inflightTask(taskId), model);
      if (reserved === undefined) state = "expired";
    } else {
      // No reservation (the admission never ran): charged here, and a late admission of the id takes nothing.
      this.s.charge(k, day, model, costMicros, 1, attribution);
      slots.add(inflightTask(taskId), now, model);
      this.s.reservations.tombstone(tenantId, reservationId);
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
      ...(task.traceparent === undefined ? {} : { traceparent: task.traceparent }),
      ...attribution,
    };
    this.s.tasks.set(k.task(taskId), ledger, task.ttlSec * 1000);
    this.s.index(tenantId, task.ttlSec * 1000).set(`${day}|${taskId}`, now);
    const idem = task.idempotency;
    if (idem === undefined) return { recorded: true };
    const holder = this.s.idem.get(k.idem(idem.key));
    if (holder === undefined || holder.res === reservationId) {
      this.s.idem.set(
        k.idem(idem.key),
        { state: "done", res: reservationId, answer: idem.answer },
        idem.ttlSec * 1000,
      );
    }
    return { recorded: true };
  }

  async markUnknown(outcome: UnknownOutcome): Promise<void> {
    await Promise.resolve();
    const { tenantId, reservationId, reason, charge } = outcome;
    const reservation = this.s.reservations.get(tenantId, reservationId);
    if (reservation !== undefined) {
      this.s.reservations.put({ ...reservation, state: "unknown", reason });
      return;
    }
    if (this.s.reservations.hasTombstone(tenantId, reservationId)) return;
    const k = this.s.keys(tenantId);
    const now = this.s.clock.now();
    const { attribution, ...charged } = charge;
    this.s.charge(k, charge.day, charge.model, charge.costMicros, 1, attribution);
    this.s.slots(k).add(inflightReservation(reservationId), now, charge.model);
    this.s.reservations.put({
      tenantId,
      reservationId,
      ...charged,
      user: attribution.user,
      feature: attribution.feature,
      idempotencyKey: undefined,
      account: false,
      admittedAtMs: now,
      state: "unknown",
      reason,
    });
    this.s.reservations.tombstone(tenantId, reservationId);
  }

  async admitStatus(request: Parameters<GovernanceStore["admitStatus"]>[0]): Promise<StatusDecision> {
    await Promise.resolve();
    const k = this.s.keys(request.tenantId);
    const { tokens, denied } = this.s.checkBuckets(k, request.buckets);
    if (denied !== null) return denied;
    const task = this.s.view(k, request.tenantId, request.taskId);
    const ledger = task === null ? undefined : this.s.tasks.get(k.task(request.taskId));
    const cached = ledger === undefined ? undefined : this.s.answers.get(ledger);
    // The account's token pays for an APIXO call: none is made for someone else's task or a cached answer.
    if (request.account !== undefined && task !== null && cached === undefined) {
      const denial = this.s.accounts.check(request.account, tightest(request.buckets, tokens), null);
      if (denial !== null) return denial;
      this.s.accounts.take(request.account, null);
    }
    const rate = this.s.take(k, request.buckets, tokens);
    return { kind: "admitted", rate, task, ...(cached === undefined ? {} : { cached }) };
  }

  async admitSimple(request: Parameters<GovernanceStore["admitSimple"]>[0]): Promise<SimpleDecision> {
    await Promise.resolve();
    const k = this.s.keys(request.tenantId);
    const { tokens, denied } = this.s.checkBuckets(k, request.buckets);
    if (denied !== null) return denied;
    return { kind: "admitted", rate: this.s.take(k, request.buckets, tokens) };
  }

  async settleTask(request: SettleRequest): Promise<SettleResult> {
    await Promise.resolve();
    const k = this.s.keys(request.tenantId);
    const ledger = this.s.tasks.get(k.task(request.taskId));
    const before = this.s.view(k, request.tenantId, request.taskId);
    if (ledger === undefined || before === null || before.state === "success" || before.state === "failed") {
      if (
        ledger !== undefined &&
        before !== null &&
        request.answer !== undefined &&
        !this.s.answers.has(ledger)
      )
        this.s.answers.set(ledger, request.answer);
      return { settled: false, refundedMicros: 0, slotReleased: false, task: before };
    }
    if (request.day !== undefined && request.day !== ledger.day) {
      throw new Error("settle: the day given does not match the ledger record");
    }
    const slotReleased = this.s.slots(k).delete(inflightTask(request.taskId));
    if (request.account !== undefined)
      this.s.accounts.release(request.account.upstream, ledger.reservationId);
    if (request.answer !== undefined) this.s.answers.set(ledger, request.answer);
    let refundedMicros = 0;
    if (request.state === "failed" && request.refund && ledger.costMicros > 0) {
      refundedMicros = ledger.costMicros;
      this.s.charge(k, ledger.day, ledger.model, -refundedMicros, 0, attributionOf(ledger));
      this.s.addCounter(k.refund(ledger.day), refundedMicros, DAY_TTL_MS);
    }
    ledger.state = request.state;
    ledger.refundedMicros += refundedMicros;
    if (request.failCode !== undefined && request.failCode !== "") ledger.failCode = request.failCode;
    return { settled: true, refundedMicros, slotReleased, task: { ...ledger } };
  }

  async sweepExpired(tenantId: string, maxAgeMs: number): Promise<readonly ExpiredTask[]> {
    await Promise.resolve();
    return this.s.expire(this.s.keys(tenantId), maxAgeMs);
  }

  async markOrphans(tenantId: string, olderThanMs: number): Promise<readonly ReservationRecord[]> {
    await Promise.resolve();
    const now = this.s.clock.now();
    const marked: ReservationRecord[] = [];
    for (const reservation of this.s.reservations.list(tenantId)) {
      if (reservation.admittedAtMs < now - DAY_TTL_MS) {
        this.s.reservations.delete(tenantId, reservation.reservationId);
      } else if (reservation.state === "open" && reservation.admittedAtMs < now - olderThanMs) {
        const orphan: ReservationRecord = { ...reservation, state: "unknown", reason: "orphaned" };
        this.s.reservations.put(orphan);
        marked.push(orphan);
      }
    }
    return marked;
  }

  async getTask(tenantId: string, taskId: string): Promise<TaskRecord | null> {
    await Promise.resolve();
    return this.s.view(this.s.keys(tenantId), tenantId, taskId);
  }

  async reservations(tenantId: string): Promise<readonly ReservationRecord[]> {
    await Promise.resolve();
    return this.s.reservations.list(tenantId);
  }

  async spendOfDays(tenantId: string, days: readonly string[]): Promise<readonly DaySpend[]> {
    await Promise.resolve();
    const k = this.s.keys(tenantId);
    return days.map((day) => ({
      day,
      spentMicros: this.s.counters.get(k.spend(day)) ?? 0,
      refundedMicros: this.s.counters.get(k.refund(day)) ?? 0,
      byModel: Object.fromEntries(this.s.models.get(k.spendByModel(day)) ?? []),
    }));
  }

  async reconcileMonth(tenantId: string, month: string): Promise<number> {
    await Promise.resolve();
    const k = this.s.keys(tenantId);
    const total = daysOfMonth(month).reduce((sum, day) => sum + (this.s.counters.get(k.spend(day)) ?? 0), 0);
    this.s.addCounter(k.spend(month), total - (this.s.counters.get(k.spend(month)) ?? 0), MONTH_TTL_MS);
    return total;
  }

  async usage(tenantId: string, periods: readonly string[]): Promise<readonly UsageRollup[]> {
    await Promise.resolve();
    const k = this.s.keys(tenantId);
    return periods.map((period) => ({
      period,
      spentMicros: this.s.counters.get(k.spend(period)) ?? 0,
      ...rollupsFrom(this.s.usage.get(k.usage(period)) ?? []),
    }));
  }

  async snapshot(tenantId: string, day: string, user?: string): Promise<TenantSnapshot> {
    await Promise.resolve();
    const k = this.s.keys(tenantId);
    return {
      tenantId,
      spentMicros: this.s.counters.get(k.spend(day)) ?? 0,
      monthSpentMicros: this.s.counters.get(k.spend(monthOf(day))) ?? 0,
      userSpentMicros:
        user === undefined ? 0 : (this.s.usage.get(k.usage(day))?.get(usageField("u", user, "spend")) ?? 0),
      inFlight: this.s.slots(k).size,
      unknownOutcomes: this.s.reservations.list(tenantId).filter((r) => r.state === "unknown").length,
    };
  }

  async audit(tenantId: string, day: string): Promise<LedgerAudit> {
    const [spend] = await this.spendOfDays(tenantId, [day]);
    const k = this.s.keys(tenantId);
    const inFlight = this.s
      .slots(k)
      .list()
      .map(({ member, atMs }) => ({ member, atMs }));
    const slotTasks: Record<string, TaskRecord | null> = {};
    for (const { member } of inFlight) {
      if (member.startsWith("t:")) slotTasks[member.slice(2)] = this.s.view(k, tenantId, member.slice(2));
    }
    const prefix = `${day}|`;
    const indexed = [...(this.s.taskIndex.get(tenantId)?.keys() ?? [])].filter((m) => m.startsWith(prefix));
    return {
      day: spend ?? { day, spentMicros: 0, refundedMicros: 0, byModel: {} },
      tasks: indexed.map((member) => {
        const taskId = member.slice(prefix.length);
        return { taskId, record: this.s.view(k, tenantId, taskId) };
      }),
      reservations: this.s.reservations.list(tenantId),
      inFlight,
      slotTasks,
      nowMs: this.s.clock.now(),
    };
  }

  async ping(): Promise<void> {
    await Promise.resolve();
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}
