import type { Request, Response } from "express";
import type { CallbackService } from "../callbacks/service.js";
import type { RequestContext } from "../routes/context.js";
import { jsonReply } from "../routes/reply.js";
import { readBody } from "./body.js";
import { writeReply } from "./reply.js";

/**
 * POST /callbacks/apixo/:token: APIXO's call back for a callback-mode task. No gateway key: the unguessable
 * token is the credential. Queued and answered 200 at once (src/callbacks/service.ts).
 */
export async function callbackRoute(
  callbacks: CallbackService,
  ctx: RequestContext,
  req: Request,
  res: Response,
): Promise<void> {
  ctx.facts.operation = "callback";
  const token = typeof req.params.token === "string" ? req.params.token : "";
  const body = () => readBody(req, ctx.snapshot.config.callbacks.bodyLimitBytes);
  await callbacks.accept(ctx.snapshot, token, body, ({ taskId, decision }) => {
    if (taskId !== undefined) ctx.facts.taskId = taskId;
    ctx.facts.decisions.push(decision);
  });
  writeReply(res, ctx, jsonReply(200, { code: 200, message: "success", data: null }));
}
