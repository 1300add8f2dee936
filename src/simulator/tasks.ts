import { FAIL_CODES, type ModelSpec, type TaskState } from "../apixo/models.js";
import { envelope } from "./envelope.js";

export interface TaskFailure {
  readonly failCode: string;
  readonly failMsg: string;
}

/**
 * A task's whole life is fixed when it is created, so its state is a pure function of the clock: polling needs
 * no timers and a ManualClock can move a task through its states.
 */
export interface SimTask {
  readonly taskId: string;
  readonly key: string;
  readonly model: ModelSpec;
  readonly createTime: number;
  readonly processingAt: number;
  readonly completeTime: number;
  readonly priceMicros: number;
  readonly failure?: TaskFailure;
  readonly callbackUrl?: string;
}

/** Markers in the prompt choose a failure, so tests and load runs get failures exactly where they ask. */
export function failureFromPrompt(prompt: string): TaskFailure | undefined {
  const explicit = /sim:fail=(\S+)/.exec(prompt)?.[1];
  let failCode: string | undefined = explicit;
  if (failCode === undefined && prompt.includes("sim:violation")) failCode = "CONTENT_VIOLATION";
  if (failCode === undefined && prompt.includes("sim:timeout")) failCode = "PROCESSING_TIMEOUT";
  if (failCode === undefined) return undefined;
  return {
    failCode,
    failMsg: Object.hasOwn(FAIL_CODES, failCode)
      ? (FAIL_CODES[failCode] ?? "")
      : `The task failed with ${failCode} (simulated by a prompt marker).`,
  };
}

export function stateAt(task: SimTask, nowMs: number): TaskState {
  if (nowMs < task.processingAt) return "pending";
  if (nowMs < task.completeTime) return "processing";
  return task.failure === undefined ? "success" : "failed";
}

const EXTENSION_BY_KIND = { image: "png", video: "mp4", audio: "mp3" } as const;

function resultJson(task: SimTask): string {
  const extension = EXTENSION_BY_KIND[task.model.kind];
  const resultUrls = Array.from(
    { length: task.model.outputsPerTask },
    (_, index) => `https://sim.apixo.invalid/${task.taskId}/${index}.${extension}`,
  );
  return JSON.stringify({ resultUrls });
}

/** The statusTask envelope at `nowMs`; callbacks send the same bytes, rendered at completeTime. */
export function statusEnvelope(task: SimTask, nowMs: number): string {
  const state = stateAt(task, nowMs);
  const terminal = state === "success" || state === "failed";
  const data: Record<string, unknown> = { taskId: task.taskId, state };
  if (state === "success") data.resultJson = resultJson(task);
  if (state === "failed" && task.failure !== undefined) {
    data.failCode = task.failure.failCode;
    data.failMsg = task.failure.failMsg;
  }
  data.createTime = task.createTime;
  if (terminal) {
    data.completeTime = task.completeTime;
    // As in APIXO's own example, costTime is completeTime - createTime.
    data.costTime = task.completeTime - task.createTime;
  }
  return envelope(200, "success", data);
}
