import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import type { CallbackJob, CallbackRoute, CallbackStore, JobUpdate } from "./store.js";

interface Stored<T> {
  value: T;
  expiresAtMs: number;
}

interface JobState {
  job: Omit<CallbackJob, "lease">;
  lease: string;
  dueMs: number;
  /** false once finished (tombstone). */
  queued: boolean;
}

/** Single process: the embedded-memory deployment and tests. Same semantics as the Redis store. */
export class MemoryCallbackStore implements CallbackStore {
  private readonly routes = new Map<string, Stored<CallbackRoute>>();
  private readonly jobs = new Map<string, Stored<JobState>>();

  constructor(private readonly clock: Clock) {}

  private live<T>(map: Map<string, Stored<T>>, key: string): Stored<T> | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > this.clock.now()) return entry;
    map.delete(key);
    return undefined;
  }

  saveRoute(route: CallbackRoute, ttlSec: number): Promise<void> {
    this.routes.set(route.token, { value: route, expiresAtMs: this.clock.now() + ttlSec * 1000 });
    return Promise.resolve();
  }

  bindTask(_tenantId: string, token: string, taskId: string): Promise<void> {
    const entry = this.live(this.routes, token);
    if (entry !== undefined) entry.value = { ...entry.value, taskId };
    return Promise.resolve();
  }

  dropRoute(_tenantId: string, token: string): Promise<void> {
    this.routes.delete(token);
    return Promise.resolve();
  }

  getRoute(tenantId: string, token: string): Promise<CallbackRoute | null> {
    const route = this.live(this.routes, token)?.value;
    return Promise.resolve(route?.tenantId === tenantId ? route : null);
  }

  enqueue(
    job: { readonly id: string; readonly tenantId: string; readonly callbackBody: string },
    ttlSec: number,
  ): Promise<boolean> {
    if (this.live(this.jobs, job.id) !== undefined) return Promise.resolve(false);
    const now = this.clock.now();
    const state: JobState = {
      job: { ...job, stage: "confirm", attempts: 0 },
      lease: "",
      dueMs: now,
      queued: true,
    };
    this.jobs.set(job.id, { value: state, expiresAtMs: now + ttlSec * 1000 });
    return Promise.resolve(true);
  }

  claim(leaseMs: number, limit: number): Promise<readonly CallbackJob[]> {
    const now = this.clock.now();
    const claimed: CallbackJob[] = [];
    for (const id of [...this.jobs.keys()]) {
      const state = this.live(this.jobs, id)?.value;
      if (state === undefined || !state.queued || state.dueMs > now) continue;
      if (claimed.length >= limit) break;
      state.lease = randomUUID();
      state.dueMs = now + leaseMs;
      claimed.push({ ...state.job, lease: state.lease });
    }
    return Promise.resolve(claimed);
  }

  private held(job: CallbackJob): JobState | undefined {
    const state = this.live(this.jobs, job.id)?.value;
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
    return Promise.resolve(true);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
