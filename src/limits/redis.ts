import type { Redis } from "ioredis";
import { accountKeys } from "./accountKeys.js";
import { DAY_KEY_TTL_SEC, type TenantKeys } from "./keys.js";
import { CallCache } from "./callCache.js";
import { SCRIPTS, type ScriptName } from "./lua/index.js";
import { submitCall } from "./lua/submit.js";
import { toStoreError } from "./redisClient.js";
import { accountDenialFrom, answerArgs, cachedAnswerFrom } from "./redisProtection.js";
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
import type {
  DaySpend,
  ExpiredTask,
  GovernanceStore,
  NewTask,
  SettleRequest,
  SettleResult,
  SimpleDecision,
  StatusDecision,
  SubmitDecision,
  SubmitRequest,
  TaskRecord,
  TenantSnapshot,
} from "./store.js";

export interface RedisStoreOptions {
  readonly redis: Redis;
  readonly prefix: string;
  /** close() quits the client unless the caller keeps using it elsewhere (default true). */
  readonly ownsClient?: boolean;
}

export class RedisStore implements GovernanceStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly calls: CallCache;

  constructor(options: RedisStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.ownsClient = options.ownsClient ?? true;
    this.calls = new CallCache(options.prefix);
    // Defined once per client: ioredis sends EVALSHA and falls back to EVAL after a restart emptied the cache.
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { lua });
  }

  private keys(tenantId: string): TenantKeys {
    return this.calls.keys(tenantId);
  }

  private async run(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<Reply> {
    const command: unknown = Reflect.get(this.redis, name);
    if (typeof command !== "function") throw new Error(`script ${name} is not defined on this client`);
    let reply: unknown;
    try {
      reply = await Reflect.apply(command, this.redis, [keys.length, ...keys, ...args]);
    } catch (err) {
      throw toStoreError(err, name);
    }
    return asReply(reply);
  }

  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }

  async admitSubmit(request: SubmitRequest): Promise<SubmitDecision> {
    const { tenantId } = request;
    const buckets = this.calls.buckets(tenantId, request.buckets);
    const call = submitCall(this.keys(tenantId), request, buckets, this.calls.account(request.account));
    const r = await this.run("agwAdmitSubmit", call.keys, call.args);
    return accountDenialFrom(r, request.account?.upstream ?? "") ?? submitDecisionFrom(r);
  }

  async releaseReservation(request: Parameters<GovernanceStore["releaseReservation"]>[0]): Promise<void> {
    const k = this.keys(request.tenantId);
    const keys = [k.inflight, k.inflightModels, k.spend(request.day), k.spendByModel(request.day)];
    if (request.idempotencyKey !== undefined) keys.push(k.idem(request.idempotencyKey));
    const args = [request.reservationId, request.model, String(request.costMicros)];
    if (request.account !== undefined) {
      keys.push(accountKeys(this.prefix, request.account.upstream).inflight);
      args.push("1");
    }
    await this.run("agwRelease", keys, args);
  }

  async recordTask(task: NewTask): Promise<void> {
    const k = this.keys(task.tenantId);
    const keys = [k.task(task.taskId), k.inflight, k.inflightModels];
    const idem = task.idempotency;
    if (idem !== undefined) keys.push(k.idem(idem.key));
    await this.run("agwRecordTask", keys, [
      task.taskId,
      task.tenantId,
      task.model,
      String(task.costMicros),
      task.day,
      task.reservationId,
      task.upstream,
      String(task.ttlSec),
      String(idem?.ttlSec ?? 0),
      String(idem?.answer.status ?? 0),
      idem?.answer.contentType ?? "",
      idem?.answer.body.toString("base64") ?? "",
    ]);
  }

  async admitStatus(request: Parameters<GovernanceStore["admitStatus"]>[0]): Promise<StatusDecision> {
    const k = this.keys(request.tenantId);
    const b = this.calls.buckets(request.tenantId, request.buckets);
    const account = this.calls.account(request.account);
    const keys = [k.task(request.taskId), k.inflight, ...b.keys, ...account.keys];
    const r = await this.run("agwAdmitStatus", keys, [
      request.taskId,
      String(request.buckets.length),
      ...b.args,
      ...account.args,
    ]);
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
    const r = await this.run("agwAdmitSimple", b.keys, [String(request.buckets.length), ...b.args]);
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
    const k = this.keys(request.tenantId);
    const keys = [
      k.task(request.taskId),
      k.inflight,
      k.inflightModels,
      k.spend(day),
      k.spendByModel(day),
      k.refund(day),
    ];
    if (request.account !== undefined) keys.push(accountKeys(this.prefix, request.account.upstream).inflight);
    const args = [
      request.taskId,
      request.state,
      request.failCode ?? "",
      request.refund ? "1" : "0",
      day,
      String(DAY_KEY_TTL_SEC),
      ...answerArgs(request.answer),
    ];
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

  async getTask(tenantId: string, taskId: string): Promise<TaskRecord | null> {
    const k = this.keys(tenantId);
    return recordFrom(await this.run("agwGetTask", [k.task(taskId), k.inflight], [taskId]), 0, tenantId);
  }

  async spendOfDays(tenantId: string, days: readonly string[]): Promise<readonly DaySpend[]> {
    const k = this.keys(tenantId);
    return this.guard("spendOfDays", async () => {
      const pipeline = this.redis.pipeline();
      for (const day of days) pipeline.get(k.spend(day)).get(k.refund(day)).hgetall(k.spendByModel(day));
      const results = (await pipeline.exec()) ?? [];
      return days.map((day, i) => {
        const [spent, refunded, byModel] = results.slice(i * 3, i * 3 + 3).map(([err, value]) => {
          if (err !== null) throw err;
          return value;
        });
        const models: Record<string, number> = {};
        if (typeof byModel === "object" && byModel !== null) {
          for (const [model, micros] of Object.entries(byModel)) models[model] = Number(micros);
        }
        return {
          day,
          spentMicros: Number(spent ?? 0),
          refundedMicros: Number(refunded ?? 0),
          byModel: models,
        };
      });
    });
  }

  async snapshot(tenantId: string, day: string): Promise<TenantSnapshot> {
    const k = this.keys(tenantId);
    return this.guard("snapshot", async () => {
      const [spent, inFlight] = await Promise.all([
        this.redis.get(k.spend(day)),
        this.redis.zcard(k.inflight),
      ]);
      return { tenantId, spentMicros: Number(spent ?? 0), inFlight };
    });
  }

  async ping(): Promise<void> {
    await this.guard("ping", () => this.redis.ping());
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
