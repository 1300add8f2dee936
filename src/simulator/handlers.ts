import { randomUUID } from "node:crypto";
import { findModel } from "../apixo/models.js";
import type { Clock } from "../clock.js";
import type { Accounts } from "./accounts.js";
import type { CallbackSender } from "./callbacks.js";
import { errorReply, invalidRequest, successReply } from "./envelope.js";
import type { Reply } from "./envelope.js";
import type { StatsRecorder } from "./stats.js";
import { failureFromPrompt, statusEnvelope } from "./tasks.js";
import type { SimTask } from "./tasks.js";
import { checkSubmit } from "./validate.js";

export interface HandlerContext {
  readonly clock: Clock;
  readonly accounts: Accounts;
  readonly tasks: Map<string, SimTask>;
  readonly stats: StatsRecorder;
  readonly callbacks: CallbackSender;
  readonly pendingMs: number;
  readonly processingMs: (model: string) => number;
  readonly priceMicros: (model: string, input: Record<string, unknown>, provider: unknown) => number;
  readonly callbackDelayMs: number;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) as unknown };
  } catch {
    return { ok: false };
  }
}

function modelNotFound(model: string): Reply {
  return errorReply(404, `Model not found: ${model}`);
}

export function generateTask(ctx: HandlerContext, key: string, modelName: string, body: Buffer): Reply {
  const spec = findModel(modelName);
  if (spec === undefined) return modelNotFound(modelName);
  const parsed = parseJson(body);
  if (!parsed.ok) return invalidRequest("Request body is not valid JSON");
  const check = checkSubmit(spec, parsed.value);
  if (!check.ok) return invalidRequest(check.error);
  const { input, prompt, callbackUrl, provider } = check.submit;

  const now = ctx.clock.now();
  const priceMicros = Math.max(0, Math.round(ctx.priceMicros(spec.id, input, provider)));
  if (!ctx.accounts.charge(key, priceMicros, now)) return errorReply(402, "Insufficient balance");

  const processingAt = now + ctx.pendingMs;
  const failure = failureFromPrompt(prompt);
  const task: SimTask = {
    taskId: randomUUID().replaceAll("-", ""),
    key,
    model: spec,
    createTime: now,
    processingAt,
    completeTime: processingAt + Math.max(0, ctx.processingMs(spec.id)),
    priceMicros,
    ...(failure === undefined ? {} : { failure }),
    ...(callbackUrl === undefined ? {} : { callbackUrl }),
  };
  ctx.tasks.set(task.taskId, task);
  ctx.stats.tasks += 1;
  // Decided: failed tasks are refunded, as peers of APIXO do; the refund lands when the task is seen as failed.
  if (failure !== undefined) ctx.accounts.refundAt(key, task.completeTime, priceMicros);
  if (callbackUrl !== undefined) {
    // Callback timers run on real time even with a ManualClock; the body is the task as it ends.
    const delayMs = Math.max(0, task.completeTime - ctx.clock.now()) + ctx.callbackDelayMs;
    const job = { url: callbackUrl, taskId: task.taskId, body: statusEnvelope(task, task.completeTime) };
    ctx.callbacks.schedule(job, delayMs);
  }
  return successReply({ taskId: task.taskId });
}

export function statusTask(ctx: HandlerContext, key: string, modelName: string, query: string): Reply {
  const spec = findModel(modelName);
  if (spec === undefined) return modelNotFound(modelName);
  const taskId = new URLSearchParams(query).get("taskId");
  if (taskId === null || taskId === "") {
    return invalidRequest("Missing required query parameter: taskId");
  }
  const task = ctx.tasks.get(taskId);
  // Another key's task, or one asked for under another model, answers exactly like a task that never existed.
  if (task?.key !== key || task.model !== spec) return errorReply(404, "Task not found");
  return { status: 200, body: statusEnvelope(task, ctx.clock.now()) };
}

export function balance(ctx: HandlerContext, key: string): Reply {
  const micros = ctx.accounts.balanceMicros(key, ctx.clock.now()) ?? 0;
  return successReply(micros / 1e6);
}
