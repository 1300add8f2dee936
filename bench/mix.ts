import { performance } from "node:perf_hooks";

/** One request of the mix, as the load generator sends it. */
export interface RequestSpec {
  readonly kind: "submit" | "status";
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: Buffer;
}

export const MODEL = "nano-banana";
/** Polls of one task are this far apart; the simulator finishes a task after TASK_MS. */
export const POLL_GAP_MS = 250;
export const POLLS_PER_TASK = 4;
/** 3.5 gaps: polls 1-3 see the task running, poll 4 sees it finished (and settles it in the ledger). */
export const TASK_MS = POLL_GAP_MS * (POLLS_PER_TASK - 0.5);

const SUBMIT_BODY = Buffer.from('{"input":{"prompt":"a lighthouse at dawn, bench"}}');
const SUBMIT_PATH = `/api/v1/generateTask/${MODEL}`;

/** What a load generator sends next, told of each task id a submit got back. */
export interface RequestSource {
  next(): RequestSpec;
  submitted(taskId: string): void;
}

interface PendingPoll {
  readonly taskId: string;
  readonly polls: number;
  readonly dueMs: number;
}

/**
 * Like real clients: every task submitted is then polled (statusTask) by the same tenant every POLL_GAP_MS
 * until it is seen finished, so the steady mix is 80% polls, 20% submits, and each task goes through the
 * whole ledger life: reserve + record on submit, three polls of a running task, one poll that settles it.
 * Polls wait for their due time (a submit goes out when no poll is due), so no poll is answered from the
 * gateway's cache of finished tasks and both targets see the same kind of traffic.
 */
export class Mix implements RequestSource {
  private queue: PendingPoll[] = [];
  private head = 0;
  private sequence = 0;

  next(): RequestSpec {
    const submitTurn = this.sequence++ % (POLLS_PER_TASK + 1) === 0;
    const poll = this.queue[this.head];
    if (submitTurn || poll === undefined || poll.dueMs > performance.now()) {
      return { kind: "submit", method: "POST", path: SUBMIT_PATH, body: SUBMIT_BODY };
    }
    this.head += 1;
    if (this.head > 4096) {
      // Drop the polled part now and then so the array does not grow for a whole soak.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (poll.polls + 1 < POLLS_PER_TASK) {
      this.queue.push({ taskId: poll.taskId, polls: poll.polls + 1, dueMs: performance.now() + POLL_GAP_MS });
    }
    return { kind: "status", method: "GET", path: `/api/v1/statusTask/${MODEL}?taskId=${poll.taskId}` };
  }

  submitted(taskId: string): void {
    this.queue.push({ taskId, polls: 0, dueMs: performance.now() + POLL_GAP_MS });
  }
}

/** The task id in a generateTask answer (APIXO envelope: { code, data: { taskId } }). */
export function taskIdFrom(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { data?: { taskId?: unknown } };
    const id = parsed.data?.taskId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A generateTask body of 283 bytes, the size the issue 18 table was measured with. */
export const SUBMIT_BODY_283 = (() => {
  const head = '{"input":{"prompt":"';
  const tail = '"}}';
  const prompt = "a lighthouse at dawn, long exposure, bench "
    .repeat(8)
    .slice(0, 283 - head.length - tail.length);
  return Buffer.from(head + prompt + tail);
})();

/** Submits only (POST generateTask), none polled: every task stays in flight, as long-running ones do. */
export class SubmitOnly implements RequestSource {
  next(): RequestSpec {
    return { kind: "submit", method: "POST", path: SUBMIT_PATH, body: SUBMIT_BODY_283 };
  }

  submitted(): void {
    // Nothing polls these tasks.
  }
}
