/** One request of the mix, as the load generator sends it. */
export interface RequestSpec {
  readonly kind: "submit" | "status";
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: Buffer;
}

export const MODEL = "nano-banana";
const SUBMIT_BODY = Buffer.from('{"input":{"prompt":"a lighthouse at dawn, bench"}}');
const SUBMIT_PATH = `/api/v1/generateTask/${MODEL}`;

/**
 * Like real clients: every task submitted is then polled a few times (statusTask) by the same tenant, so
 * with 4 polls per task the mix is 80% polls, 20% submits. The first poll of a finished task settles it in the
 * ledger; later polls take the plain status path. Deterministic (every 5th request is a submit), so runs
 * against different targets send exactly the same sequence.
 */
export class Mix {
  private readonly pool: { taskId: string; polls: number }[] = [];
  private head = 0;
  private sequence = 0;

  constructor(private readonly pollsPerTask = 4) {}

  next(): RequestSpec {
    const submitTurn = this.sequence++ % (this.pollsPerTask + 1) === 0;
    const task = this.pool[this.head];
    if (submitTurn || task === undefined) {
      return { kind: "submit", method: "POST", path: SUBMIT_PATH, body: SUBMIT_BODY };
    }
    task.polls += 1;
    if (task.polls >= this.pollsPerTask) this.advance();
    return { kind: "status", method: "GET", path: `/api/v1/statusTask/${MODEL}?taskId=${task.taskId}` };
  }

  submitted(taskId: string): void {
    this.pool.push({ taskId, polls: 0 });
  }

  private advance(): void {
    this.head += 1;
    // Drop polled-out tasks now and then so the array does not grow for a whole soak.
    if (this.head > 4096) {
      this.pool.splice(0, this.head);
      this.head = 0;
    }
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
