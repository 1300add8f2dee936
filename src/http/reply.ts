import type { ServerResponse } from "node:http";
import { errorEnvelope, type GatewayError } from "../errors/catalog.js";
import type { RequestContext } from "../routes/context.js";
import type { Reply } from "../routes/reply.js";
import { downstreamHeaders } from "../upstream/headers.js";

/**
 * The one writer of answers on the public port: a route's reply value or an error, each with the headers the
 * request's handling decided (X-Request-Id, RateLimit-*, X-Budget-Remaining-Usd).
 */
export function writeReply(res: ServerResponse, ctx: RequestContext, reply: Reply): void {
  switch (reply.kind) {
    case "nothing":
      return;
    case "upstream": {
      const { answer } = reply;
      // One headers object, filled in place (no copies): this runs for every answer APIXO gave.
      const headers = Object.assign(downstreamHeaders(answer.headers), ctx.headers);
      headers["content-length"] = String(answer.body.length);
      res.writeHead(answer.status, headers);
      res.end(answer.body);
      return;
    }
    case "stored":
      res.writeHead(reply.answer.status, {
        ...ctx.headers,
        ...reply.headers,
        "content-type": reply.answer.contentType,
        "content-length": String(reply.answer.body.length),
      });
      res.end(reply.answer.body);
      return;
    case "json":
      res.writeHead(reply.status, {
        ...ctx.headers,
        "content-type": "application/json; charset=utf-8",
        "content-length": String(reply.body.length),
      });
      res.end(reply.body);
  }
}

/** The error envelope (CONTRACTS.md section 1), with Retry-After when the error carries one. */
export function writeError(res: ServerResponse, ctx: RequestContext, error: GatewayError): void {
  const body = JSON.stringify(errorEnvelope(error, ctx.requestId));
  const headers: Record<string, string> = {
    ...ctx.headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
  };
  if (error.retryAfterSec !== undefined) headers["Retry-After"] = String(error.retryAfterSec);
  res.writeHead(error.status, headers);
  res.end(body);
}
