/**
 * The callback store: its own small interface (separate from the governance store) with a memory and a Redis
 * implementation. Two kinds of records:
 * - a route per callback-mode task, token -> tenant, model, tenant URL and (once APIXO accepted) task id;
 *   per tenant, under the tenant's hash tag;
 * - a job per task once APIXO called back, in one global due-queue: claimed by one replica at a time under a
 *   lease (a crashed replica's claim comes due again when the lease runs out), moved on or rescheduled by the
 *   lease holder only, and kept as a tombstone when finished so a duplicate callback does not start it again.
 */

export interface CallbackRoute {
  readonly token: string;
  readonly tenantId: string;
  readonly model: string;
  /** The tenant's own callback_url; never sent to APIXO. */
  readonly tenantUrl: string;
  /** Set when APIXO accepted the submit; a callback can arrive before that. */
  readonly taskId?: string;
}

/** confirm: read the outcome (statusTask) and settle; deliver: POST the envelope to the tenant. */
export type JobStage = "confirm" | "deliver";

export interface CallbackJob {
  /** The token: one job per task. */
  readonly id: string;
  readonly tenantId: string;
  readonly stage: JobStage;
  /** Failed tries so far in this stage. */
  readonly attempts: number;
  /** APIXO's callback body as received. */
  readonly callbackBody: string;
  /** The envelope to deliver (deliver stage). */
  readonly envelope?: string;
  /** Names this claim; only its holder may move the job on. */
  readonly lease: string;
}

export interface JobUpdate {
  readonly stage: JobStage;
  readonly attempts: number;
  readonly envelope?: string;
}

export interface CallbackStore {
  saveRoute(route: CallbackRoute, ttlSec: number): Promise<void>;
  bindTask(tenantId: string, token: string, taskId: string): Promise<void>;
  dropRoute(tenantId: string, token: string): Promise<void>;
  getRoute(tenantId: string, token: string): Promise<CallbackRoute | null>;
  /** Queues the work for a callback unless the task already has a job (a duplicate): true when queued. */
  enqueue(
    job: { readonly id: string; readonly tenantId: string; readonly callbackBody: string },
    ttlSec: number,
  ): Promise<boolean>;
  /** Due jobs (store time), each leased for `leaseMs`. */
  claim(leaseMs: number, limit: number): Promise<readonly CallbackJob[]>;
  /** Saves progress and makes the job due after `delayMs`; false when the lease was lost. */
  reschedule(job: CallbackJob, update: JobUpdate, delayMs: number): Promise<boolean>;
  /** Done for good: tombstone (duplicates are ignored) or forget (a forged job, so the real one can come). */
  finish(job: CallbackJob, keep: "tombstone" | "forget"): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
