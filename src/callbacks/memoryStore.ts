import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { TtlMap } from "../limits/ttlMap.js";
import type { CallbackJob, CallbackRoute, CallbackStore, JobUpdate } from "./store.js";

interface JobState {
  job: Omit<CallbackJob, "lease">;
  lease: string;
  dueMs: number;
  /** false once finished (tombstone). */
  queued: boolean;
}

/**
 * Single process: the embedded-memory deployment and tests. Same semantics as the Redis store. Routes and jobs
 * are evicted at their TTL (TtlMap), and a claim walks only the jobs still queued, not the tombstones.
 */
export class MemoryCallbackStore implements CallbackStore {
  private readonly routes: TtlMap<CallbackRoute>;
  private readonly jobs: TtlMap<JobState>;
  /** Ids of jobs not finished, in enqueue order (a finished or expired one leaves at the next claim). */
  private readonly queued = new Set<string>();

  constructor(private readonly clock: Clock) {
    this.routes = new TtlMap(clock);
    this.jobs = new TtlMap(clock);
  }

  saveRoute(route: CallbackRoute, ttlSec: number): Promise<void> {
    this.routes.set(route.token, route, ttlSec * 1000);
    return Promise.resolve();
  }

  bindTask(_tenantId: string, token: string, taskId: string): Promise<void> {
    const route = this.routes.get(token);
    // The route keeps its deadline: it is updated in place.
    if (route !== undefined) this.routes.update(token, { ...route, taskId });
    return Promise.resolve();
  }

  dropRoute(_tenantId: string, token: string): Promise<void> {
    this.routes.delete(token);
    return Promise.resolve();
  }

  getRoute(tenantId: string, token: string): Promise<CallbackRoute | null> {
    const route = this.routes.get(token);
    return Promise.resolve(route?.tenantId === tenantId ? route : null);
  }

  enqueue(
    job: { readonly id: string; readonly tenantId: string; readonly callbackBody: string },
    ttlSec: number,
  ): Promise<boolean> {
    if (this.jobs.get(job.id) !== undefined) return Promise.resolve(false);
    const now = this.clock.now();
    const state: JobState = {
      job: { ...job, stage: "confirm", attempts: 0 },
      lease: "",
      dueMs: now,
      queued: true,
    };
    this.jobs.set(job.id, state, ttlSec * 1000);
    this.queued.add(job.id);
    return Promise.resolve(true);
  }

  claim(leaseMs: number, limit: number): Promise<readonly CallbackJob[]> {
    const now = this.clock.now();
    const claimed: CallbackJob[] = [];
    for (const id of this.queued) {
      const state = this.jobs.get(id);
      if (state?.queued !== true) {
        this.queued.delete(id);
        continue;
      }
      if (state.dueMs > now) continue;
      if (claimed.length >= limit) break;
      state.lease = randomUUID();
      state.dueMs = now + leaseMs;
      claimed.push({ ...state.job, lease: state.lease });
    }
    return Promise.resolve(claimed);
  }

  private held(job: CallbackJob): JobState | undefined {
    const state = this.jobs.get(job.id);
    return state?.queued === true && state.lease === job.lease ? state : undefined;
  }

  reschedule(job: CallbackJob, update: JobUpdate, delayMs: number): Promise<boolean> {
    const state = this.held(job);
    if (state === undefined) return Promise.resolve(false);
    // A field the update leaves out is cleared, as in the Redis store.
    const { id, tenantId, callbackBody } = state.job;
    state.job = { id, tenantId, callbackBody, ...update };
    state.dueMs = this.clock.now() + delayMs;
    state.lease = "";
    return Promise.resolve(true);
  }

  finish(job: CallbackJob, keep: "tombstone" | "forget"): Promise<boolean> {
    const state = this.held(job);
    if (state === undefined) return Promise.resolve(false);
    if (keep === "forget") this.jobs.delete(job.id);
    else state.queued = false;
    this.queued.delete(job.id);
    return Promise.resolve(true);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
