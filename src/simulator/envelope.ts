import type { ServerResponse } from "node:http";

/** What a handler answers; the server writes it, so handlers stay free of socket concerns. */
export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** APIXO repeats the HTTP status in `code`; the whole API speaks this one envelope. */
export function envelope(code: number, message: string, data: unknown): string {
  return JSON.stringify({ code, message, data });
}

export function errorReply(status: number, message: string, data: unknown = null): Reply {
  return { status, body: envelope(status, message, data) };
}

export function successReply(data: unknown): Reply {
  return { status: 200, body: envelope(200, "success", data) };
}

export function invalidRequest(error: string): Reply {
  return { status: 400, body: envelope(400, "Invalid request", { error }) };
}

export function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(reply.body),
    ...reply.headers,
  });
  res.end(reply.body);
}
