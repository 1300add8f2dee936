import { randomUUID } from "node:crypto";
import type { RedisConnection } from "../limits/redisClient.js";
import { toStoreError } from "../limits/redisClient.js";
import { CALLBACK_SCRIPTS, type CallbackScript } from "./redisLua.js";
import type { CallbackJob, CallbackRoute, CallbackStore, JobStage, JobUpdate } from "./store.js";

/** Keys: routes per tenant (`<prefix>:{<tenant>}:cb:<token>`), the queue in its own slot (`<prefix>:{cbq}:...`). */
export function callbackKeys(prefix: string) {
  return {
    route: (tenantId: string, token: string) => `${prefix}:{${tenantId}}:cb:${token}`,
    due: `${prefix}:{cbq}:due`,
    job: (id: string) => `${prefix}:{cbq}:job:${id}`,
  };
}

function fieldsOf(flat: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(flat)) return map;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key: unknown = flat[i];
    const value: unknown = flat[i + 1];
    if (typeof key === "string" && typeof value === "string") map.set(key, value);
  }
  return map;
}

function jobFrom(flat: unknown): CallbackJob | undefined {
  const f = fieldsOf(flat);
  const id = f.get("id");
  const tenantId = f.get("tenantId");
  const stage = f.get("stage");
  const lease = f.get("lease");
  if (id === undefined || tenantId === undefined || lease === undefined) return undefined;
  if (stage !== "confirm" && stage !== "deliver") return undefined;
  const envelope = f.get("envelope");
  const job: CallbackJob = {
    id,
    tenantId,
    stage: stage satisfies JobStage,
    attempts: Number(f.get("attempts") ?? "0"),
    callbackBody: f.get("callbackBody") ?? "",
    lease,
    ...(envelope === undefined ? {} : { envelope }),
  };
  return job;
}

/** Shared by replicas: a restart or another replica finishes what one gateway queued. */
export class RedisCallbackStore implements CallbackStore {
  private readonly keys: ReturnType<typeof callbackKeys>;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
  ) {
    this.keys = callbackKeys(prefix);
    for (const [name, lua] of Object.entries(CALLBACK_SCRIPTS)) this.redis.defineCommand(name, { lua });
  }

  private async run(
    name: CallbackScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    const command: unknown = Reflect.get(this.redis, name);
    if (typeof command !== "function") throw new Error(`script ${name} is not defined on this client`);
    try {
      return (await Reflect.apply(command, this.redis, [keys.length, ...keys, ...args])) as unknown;
    } catch (err) {
      throw toStoreError(err, name);
    }
  }

  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }

  saveRoute(route: CallbackRoute, ttlSec: number): Promise<void> {
    const key = this.keys.route(route.tenantId, route.token);
    const fields = { tenantId: route.tenantId, model: route.model, tenantUrl: route.tenantUrl };
    return this.guard("callback_save_route", async () => {
      await this.redis.multi().hset(key, fields).expire(key, Math.ceil(ttlSec)).exec();
    });
  }

  bindTask(tenantId: string, token: string, taskId: string): Promise<void> {
    // HSET on a missing key would create a route without a URL; the route exists unless it expired.
    const key = this.keys.route(tenantId, token);
    return this.guard("callback_bind", async () => {
      if ((await this.redis.exists(key)) === 1) await this.redis.hset(key, "taskId", taskId);
    });
  }

  dropRoute(tenantId: string, token: string): Promise<void> {
    return this.guard("callback_drop_route", async () => {
      await this.redis.del(this.keys.route(tenantId, token));
    });
  }

  getRoute(tenantId: string, token: string): Promise<CallbackRoute | null> {
    return this.guard("callback_get_route", async () => {
      const f = await this.redis.hgetall(this.keys.route(tenantId, token));
      const { model, tenantUrl, taskId } = f;
      if (f.tenantId !== tenantId || model === undefined || tenantUrl === undefined) return null;
      return { token, tenantId, model, tenantUrl, ...(taskId === undefined ? {} : { taskId }) };
    });
  }

  async enqueue(
    job: { readonly id: string; readonly tenantId: string; readonly callbackBody: string },
    ttlSec: number,
  ): Promise<boolean> {
    const reply = await this.run(
      "callbackEnqueue",
      [this.keys.due, this.keys.job(job.id)],
      [job.id, String(Math.ceil(ttlSec)), "tenantId", job.tenantId, "callbackBody", job.callbackBody],
    );
    return reply === 1;
  }

  async claim(leaseMs: number, limit: number): Promise<readonly CallbackJob[]> {
    const due = await this.run("callbackDue", [this.keys.due], [String(limit)]);
    if (!Array.isArray(due)) return [];
    const lease = randomUUID();
    const claimed = await Promise.all(
      due.map((id) =>
        this.run(
          "callbackClaim",
          [this.keys.due, this.keys.job(String(id))],
          [String(id), String(leaseMs), lease],
        ),
      ),
    );
    return claimed.map(jobFrom).filter((job) => job !== undefined);
  }

  async reschedule(job: CallbackJob, update: JobUpdate, delayMs: number): Promise<boolean> {
    const reply = await this.run(
      "callbackReschedule",
      [this.keys.due, this.keys.job(job.id)],
      [
        job.id,
        job.lease,
        String(Math.max(0, Math.round(delayMs))),
        update.stage,
        String(update.attempts),
        update.envelope ?? "",
      ],
    );
    return reply === 1;
  }

  async finish(job: CallbackJob, keep: "tombstone" | "forget"): Promise<boolean> {
    const reply = await this.run(
      "callbackFinish",
      [this.keys.due, this.keys.job(job.id)],
      [job.id, job.lease, keep],
    );
    return reply === 1;
  }

  ping(): Promise<void> {
    return this.guard("callback_ping", async () => {
      await this.redis.ping();
    });
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
