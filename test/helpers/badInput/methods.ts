/** Bad input: methods. */
import { GOOD_BODY, PATHS, http, get, socket, type Endpoint, type BadCase } from "./kit.js";

const wrongMethods: readonly (readonly [Exclude<Endpoint, "other" | "callback">, string, string])[] = [
  ...["GET", "PUT", "PATCH", "DELETE", "OPTIONS"].map(
    (m) => ["submit", m, "generateTask takes POST"] as const,
  ),
  ...["POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((m) => ["status", m, "statusTask takes GET"] as const),
  ...["POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map(
    (m) => ["balance", m, "current-balance takes GET"] as const,
  ),
];

export const methodCases: BadCase[] = [
  ...wrongMethods.map(([endpoint, method, message]): BadCase => ({
    name: `${method} on ${endpoint}`,
    endpoint,
    send: http({
      method,
      path: PATHS[endpoint],
      headers: { "content-type": "application/json" },
      // node:http sends a DELETE's body unframed (no Content-Length): none for GET, OPTIONS and DELETE.
      ...(["GET", "OPTIONS", "DELETE"].includes(method) ? {} : { body: GOOD_BODY }),
    }),
    status: 404,
    type: "NOT_FOUND",
    message: new RegExp(`${message} only`),
  })),
  {
    name: "GET on a case variant of generateTask",
    endpoint: "submit",
    send: get("/api/v1/GENERATETASK/nano-banana"),
    status: 404,
    type: "NOT_FOUND",
    message: /generateTask takes POST only/,
  },
  ...["GET", "PUT", "DELETE", "PATCH"].map((method): BadCase => ({
    name: `${method} on the callback receiver`,
    endpoint: "callback",
    send: http({ method, path: PATHS.callback, tenant: null }),
    status: 404,
    type: "NOT_FOUND",
    message: /No such endpoint/,
  })),
  ...[
    "/api/v1/other",
    "/api/v2/generateTask/nano-banana",
    "/api/v1/models",
    "/api/v1/generateTaskX/nano-banana",
    "/api/mcp/tools",
    "/api/v1/statusTasks/nano-banana?taskId=t",
    "/api/v1/apikeys/current-balanceX",
    "/api/v1/apikeys",
    "/admin/tenants",
    "/metrics",
  ].map((path): BadCase => ({
    name: `unknown path ${path}`,
    endpoint: "other",
    send: get(path),
    status: 404,
    type: "NOT_FOUND",
    message: /No such endpoint.*The gateway serves generateTask, statusTask and current-balance/,
  })),
  {
    name: "CONNECT (raw)",
    endpoint: "other",
    send: socket(() => ["CONNECT api.apixo.ai:443 HTTP/1.1\r\nHost: api.apixo.ai:443\r\n\r\n"]),
    status: 404,
    type: "NOT_FOUND",
    message: /not a forward proxy/,
  },
];
