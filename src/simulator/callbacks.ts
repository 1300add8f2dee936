import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { RecordedCallback } from "./types.js";

/** APIXO gives a receiver 30 s to answer; after that the attempt counts as failed. */
const RECEIVER_TIMEOUT_MS = 30_000;

export interface CallbackPolicy {
  readonly retryDelaysMs: readonly number[];
  readonly duplicates: number;
}

export interface CallbackJob {
  readonly url: string;
  readonly taskId: string;
  readonly body: string;
}

/**
 * Delivers terminal statuses like APIXO: one POST, retried on a non-2xx answer or a network error, plus optional
 * duplicates. Every timer and in-flight request is tracked so that close() leaves nothing behind.
 */
export class CallbackSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly policy: CallbackPolicy,
    private readonly record: (callback: RecordedCallback) => void,
  ) {}

  schedule(job: CallbackJob, delayMs: number): void {
    this.after(delayMs, () => {
      void this.run(job);
    });
  }

  /** Cancels every pending delivery and aborts those on the wire. */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
    this.inFlight.clear();
  }

  private async run(job: CallbackJob): Promise<void> {
    let attempt = 0;
    for (let retry = 0; ; retry++) {
      attempt += 1;
      const status = await this.deliver(job, attempt);
      const delivered = typeof status === "number" && status >= 200 && status < 300;
      const delayMs = this.policy.retryDelaysMs[retry];
      if (delivered || delayMs === undefined || status === "cancelled") break;
      await this.sleep(delayMs);
    }
    for (let copy = 0; copy < this.policy.duplicates; copy++) {
      attempt += 1;
      if ((await this.deliver(job, attempt)) === "cancelled") return;
    }
  }

  /** Never settles once cancelAll() has cleared its timer: the waiting delivery is simply dropped. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.after(ms, resolve);
    });
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private deliver(job: CallbackJob, attempt: number): Promise<number | "error" | "cancelled"> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const send = job.url.startsWith("https:") ? httpsRequest : httpRequest;
    let settled = false;
    return new Promise((resolve) => {
      const finish = (status: number | "error" | "cancelled"): void => {
        if (settled) return;
        settled = true;
        if (!this.inFlight.delete(controller)) status = "cancelled";
        if (status !== "cancelled")
          this.record({ url: job.url, taskId: job.taskId, attempt, status, body: job.body });
        resolve(status);
      };
      const req = send(job.url, {
        method: "POST",
        // A fresh connection per delivery: no pooled socket outlives the simulator or the receiver.
        agent: false,
        signal: controller.signal,
        timeout: RECEIVER_TIMEOUT_MS,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(job.body),
          "user-agent": "apixo-simulator",
        },
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => {
          finish(res.statusCode ?? 0);
        });
        res.on("error", () => {
          finish("error");
        });
      });
      req.on("timeout", () => {
        req.destroy(new Error("callback receiver timed out"));
      });
      req.on("error", () => {
        finish("error");
      });
      req.end(job.body);
    });
  }
}
