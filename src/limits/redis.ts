import type { RedisTopology } from "../config/redis.js";
import type { RedisConnection } from "./redisClient.js";
import { probeRedis } from "./redisProbe.js";
import { LEDGER_WRITES, runAcknowledged, scriptCommand, type ReplicaAcks } from "./redisAcks.js";
import { CallCache, type AccountOf } from "./callCache.js";
import { DAY_KEY_TTL_SEC, hashTag, type TenantKeys } from "./keys.js";
import { monthOf } from "./store.js";
import { daysOfMonth } from "./days.js";
import { SCRIPTS, type ScriptName } from "./lua/index.js";
import { submitCall } from "./lua/submit.js";
import { recordCall, releaseCall, settleCall, unknownCall } from "./lua/ledgerCalls.js";
import { SIMPLE_ARGS, STATUS_ARGS, STATUS_KEYS } from "./lua/tasks.js";
import { auditFrom, daySpendsFrom, reservationFrom, reservationsFrom, usageFrom } from "./redisLedger.js";
import { accountDenialFrom, cachedAnswerFrom } from "./redisProtection.js";
import {
  asReply,
  expiredFrom,
  num,
  rateAt,
  rateLimitedFrom,
  recordFields,
  recordFrom,
  str,
  submitDecisionFrom,
  taskFrom,
  type Reply,
} from "./redisReplies.js";
import { DEFAULT_SILENCE_MS } from "../config/schema.js";
import { SilenceGuard } from "./silence.js";
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

export interface RedisStoreOptions {
  readonly redis: RedisConnection;
  readonly prefix: string;
  /**
   * The upstream account of each tenant (tenants[].upstreamKey): its keys share that account's hash tag,
   * so one script decides the tenant and its account in one slot (keys.ts, docs/scaling.md).
   */
  readonly accountOf: AccountOf;
  /** A command fails when Redis has sent nothing for this long (store.commandTimeoutMs; see silence.ts). */
  readonly silenceMs?: number;
  /** The topology the config names, which readiness checks the server against (redisProbe.ts). */
  readonly topology?: RedisTopology["topology"];
  /**
   * Replicas each ledger write must reach before the gateway acts on it (WAIT after the script, in the same
   * round trip); none by default. See store.redis.replicaAcks.
   */
  readonly replicaAcks?: ReplicaAcks;
  /** close() quits the client unless the caller keeps using it elsewhere (default true). */
  readonly ownsClient?: boolean;
}

const AUDIT_ATTEMPTS = 5;

export class RedisStore implements GovernanceStore {
  private readonly redis: RedisConnection;
  private readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly calls: CallCache;
  private readonly guard: SilenceGuard;
  private readonly topology: RedisTopology["topology"];
  private readonly replicaAcks: ReplicaAcks | undefined;
  readonly answersOnSend: boolean;

  constructor(options: RedisStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.ownsClient = options.ownsClient ?? true;
    this.topology = options.topology ?? "single";
    this.replicaAcks = (options.replicaAcks?.count ?? 0) > 0 ? options.replicaAcks : undefined;
    // Without acknowledgements a script call is one EVALSHA, written to the connection at once.
    this.answersOnSend = this.replicaAcks === undefined;
    this.calls = new CallCache(options.prefix, options.accountOf);
    this.guard = new SilenceGuard(options.redis, {
      silenceMs: options.silenceMs ?? DEFAULT_SILENCE_MS,
      nowMs: () => performance.now(),
      dropOnSilence: this.topology !== "cluster",
    });
    // Defined once per client: ioredis sends EVALSHA and falls back to EVAL after a restart emptied the cache.
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { lua });
  }

  private keys(tenantId: string): TenantKeys {
    return this.calls.keys(tenantId);
  }

  private async run(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<Reply> {
    const acks = this.replicaAcks;
    if (acks !== undefined && LEDGER_WRITES.has(name)) {
      return asReply(
        await this.guard.run(name, () =>
          runAcknowledged(this.redis, name, [keys.length, ...keys, ...args], acks),
        ),
      );
    }
    const command = scriptCommand(this.redis, name);
    const reply = await this.guard.run(name, () =>
      Promise.resolve(Reflect.apply(command, this.redis, [keys.length, ...keys, ...args])),
    );
    return asReply(reply);
  }

  async admitSubmit(request: SubmitRequest): Promise<SubmitDecision> {
    const { tenantId } = request;
    const call = submitCall(this.keys(tenantId), request, {
      buckets: this.calls.buckets(tenantId, request.buckets),
      account: this.calls.account(request.account),
      dayBlocks: this.calls.dayBlocks(tenantId, request.days),
      capArgs: this.calls.capArgs(request.caps),
    });
    const r = await this.run("agwAdmitSubmit", call.keys, call.args);
    return accountDenialFrom(r, request.account?.upstream ?? "") ?? submitDecisionFrom(r);
  }

  async releaseReservation(request: ReleaseRequest): Promise<ReleaseResult> {
    const { keys, args } = releaseCall(this.keys(request.tenantId), this.prefix, request);
    const r = await this.run("agwRelease", keys, args);
    const released = num(r, 0) === 1;
    return {
      released,
      reservation: released ? reservationFrom(request.tenantId, request.reservationId, str(r, 1)) : null,
    };
  }

  async recordTask(task: NewTask): Promise<{ readonly recorded: boolean }> {
    const [result] = await this.recordTasks([task]);
    return result ?? { recorded: false };
  }

  /** One script call per cluster slot (tenants of one upstream account share one), sent together. */
  async recordTasks(tasks: readonly NewTask[]): Promise<readonly { readonly recorded: boolean }[]> {
    const bySlot = new Map<string, { keys: string[]; args: string[]; at: number[] }>();
    tasks.forEach((task, index) => {
      const k = this.keys(task.tenantId);
      const { keys, args } = recordCall(k, task);
      const slot = hashTag(k.inflight);
      const call = bySlot.get(slot);
      if (call === undefined) bySlot.set(slot, { keys, args, at: [index] });
      else {
        call.keys.push(...keys);
        call.args.push(...args);
        call.at.push(index);
      }
    });
    const results: { readonly recorded: boolean }[] = tasks.map(() => ({ recorded: false }));
    await Promise.all(
      [...bySlot.values()].map(async (call) => {
        const r = await this.run("agwRecordTask", call.keys, call.args);
        call.at.forEach((index, i) => {
          results[index] = { recorded: num(r, i) === 1 };
        });
      }),
    );
    return results;
  }

  async markUnknown(outcome: UnknownOutcome): Promise<void> {
    const { keys, args } = unknownCall(this.keys(outcome.tenantId), outcome);
    await this.run("agwMarkUnknown", keys, args);
  }

  async admitStatus(request: Parameters<GovernanceStore["admitStatus"]>[0]): Promise<StatusDecision> {
    const k = this.keys(request.tenantId);
    const b = this.calls.buckets(request.tenantId, request.buckets);
    const account = this.calls.account(request.account);
    const keys = [...STATUS_KEYS.encode({ task: k.task(request.taskId), inflight: k.inflight }), ...b.keys];
    keys.push(...account.keys);
    const args = STATUS_ARGS.encode({
      taskId: request.taskId,
      acct: account.keys.length > 0 ? "1" : "0",
      n: String(request.buckets.length),
    });
    args.push(...b.args, ...account.args);
    const r = await this.run("agwAdmitStatus", keys, args);
    if (str(r, 0) === "rate_limited") return rateLimitedFrom(r);
    const denied = accountDenialFrom(r, request.account?.upstream ?? "");
    if (denied !== null) return denied;
    const fields = recordFields(r, 4);
    const task = taskFrom(fields, num(r, 4) === 1, request.tenantId);
    const cached = task === null ? undefined : cachedAnswerFrom(fields);
    return { kind: "admitted", rate: rateAt(r, 1), task, ...(cached === undefined ? {} : { cached }) };
  }

  async admitSimple(request: Parameters<GovernanceStore["admitSimple"]>[0]): Promise<SimpleDecision> {
    const b = this.calls.buckets(request.tenantId, request.buckets);
    const args = [...SIMPLE_ARGS.encode({ n: String(request.buckets.length) }), ...b.args];
    const r = await this.run("agwAdmitSimple", b.keys, args);
    if (str(r, 0) === "rate_limited") return rateLimitedFrom(r);
    return { kind: "admitted", rate: rateAt(r, 1) };
  }

  async settleTask(request: SettleRequest): Promise<SettleResult> {
    // The refund's day keys come from the ledger: from the caller's copy when it has one (one round trip),
    // else read first, and then a settled task costs only this read.
    let day = request.day;
    if (day === undefined) {
      const before = await this.getTask(request.tenantId, request.taskId);
      const terminal = before?.state === "success" || before?.state === "failed";
      // A settled task still runs the script when it brings an answer for the status cache.
      if (before === null || (terminal && request.answer === undefined)) {
        return { settled: false, refundedMicros: 0, slotReleased: false, task: before };
      }
      day = before.day;
    }
    const { keys, args } = settleCall(this.keys(request.tenantId), this.prefix, request, day);
    const r = await this.run("agwSettle", keys, args);
    return {
      settled: num(r, 0) === 1,
      refundedMicros: num(r, 1),
      slotReleased: num(r, 2) === 1,
      task: recordFrom(r, 3, request.tenantId),
    };
  }

  async sweepExpired(tenantId: string, maxAgeMs: number): Promise<readonly ExpiredTask[]> {
    const k = this.keys(tenantId);
    return expiredFrom(await this.run("agwSweep", [k.inflight, k.inflightModels], [String(maxAgeMs)]), 0);
  }

  async markOrphans(tenantId: string, olderThanMs: number): Promise<readonly ReservationRecord[]> {
    const k = this.keys(tenantId);
    const args = [String(olderThanMs), String(DAY_KEY_TTL_SEC * 1000)];
    return reservationsFrom(tenantId, await this.run("agwMarkOrphans", [k.reservations], args));
  }

  async getTask(tenantId: string, taskId: string): Promise<TaskRecord | null> {
    const k = this.keys(tenantId);
    return recordFrom(await this.run("agwGetTask", [k.task(taskId), k.inflight], [taskId]), 0, tenantId);
  }

  async reservations(tenantId: string): Promise<readonly ReservationRecord[]> {
    const k = this.keys(tenantId);
    const all = await this.guard.run("reservations", () => this.redis.hgetall(k.reservations));
    return Object.entries(all).map(([id, json]) => reservationFrom(tenantId, id, json));
  }

  async spendOfDays(tenantId: string, days: readonly string[]): Promise<readonly DaySpend[]> {
    const k = this.keys(tenantId);
    return this.guard.run("spendOfDays", async () => {
      const pipeline = this.redis.pipeline();
      for (const day of days) pipeline.get(k.spend(day)).get(k.refund(day)).hgetall(k.spendByModel(day));
      return daySpendsFrom(days, (await pipeline.exec()) ?? []);
    });
  }

  async reconcileMonth(tenantId: string, month: string): Promise<number> {
    const k = this.keys(tenantId);
    const keys = [k.spend(month), ...daysOfMonth(month).map((day) => k.spend(day))];
    return num(await this.run("agwReconcileMonth", keys, []), 0);
  }

  async usage(tenantId: string, periods: readonly string[]): Promise<readonly UsageRollup[]> {
    const k = this.keys(tenantId);
    return this.guard.run("usage", async () => {
      const pipeline = this.redis.pipeline();
      for (const period of periods) pipeline.get(k.spend(period)).hgetall(k.usage(period));
      return usageFrom(periods, (await pipeline.exec()) ?? []);
    });
  }

  async snapshot(tenantId: string, day: string, user?: string): Promise<TenantSnapshot> {
    const k = this.keys(tenantId);
    return this.guard.run("snapshot", async () => {
      const [spent, monthSpent, userSpent, inFlight, reservations] = await Promise.all([
        this.redis.get(k.spend(day)),
        this.redis.get(k.spend(monthOf(day))),
        user === undefined ? null : this.redis.hget(k.usage(day), `u:${user}`),
        this.redis.zcard(k.inflight),
        this.redis.hvals(k.reservations),
      ]);
      const unknownOutcomes = reservations.filter((json) => json.includes('"state":"unknown"')).length;
      return {
        tenantId,
        spentMicros: Number(spent ?? 0),
        monthSpentMicros: Number(monthSpent ?? 0),
        userSpentMicros: Number(userSpent ?? 0),
        inFlight,
        unknownOutcomes,
      };
    });
  }

  /**
   * Two steps: the task index and the in-flight set say which records to read, then one script reads them
   * and the day's counters atomically, and asks for another try if either set changed in between.
   */
  async audit(tenantId: string, day: string): Promise<LedgerAudit> {
    const k = this.keys(tenantId);
    for (let attempt = 1; ; attempt++) {
      const [index, inflight] = await this.guard.run("audit", () =>
        Promise.all([this.redis.zrange(k.tasks, 0, -1), this.redis.zrange(k.inflight, 0, -1)]),
      );
      const taskIds = new Set<string>();
      for (const member of index) if (member.startsWith(`${day}|`)) taskIds.add(member.slice(day.length + 1));
      for (const member of inflight) if (member.startsWith("t:")) taskIds.add(member.slice(2));
      const ids = [...taskIds];
      const keys = [
        k.spend(day),
        k.refund(day),
        k.spendByModel(day),
        k.reservations,
        k.inflight,
        k.tasks,
        ...ids.map((id) => k.task(id)),
      ];
      const r = await this.run("agwAudit", keys, [day, String(index.length), String(inflight.length)]);
      if (str(r, 0) === "ok") return auditFrom(tenantId, day, ids, str(r, 1));
      if (attempt >= AUDIT_ATTEMPTS) throw new Error("ledger audit: the ledger kept changing; try again");
    }
  }

  /** Reachable, the topology the config names, and allowed to run scripts (StoreMisconfigured if not). */
  async ping(): Promise<void> {
    await probeRedis(this.redis, this.topology, this.prefix, (operation, command) =>
      this.guard.run(operation, command),
    );
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
