/** Bad input: callback. */
import { http, type BadCase } from "./kit.js";

export const callbackCases: BadCase[] = [
  ...[
    "acme",
    "acme.",
    "acme.short",
    `acme.${"A".repeat(42)}`,
    `acme.${"A".repeat(44)}`,
    `ACME.${"A".repeat(43)}`,
    `nobody.${"A".repeat(43)}`,
    `.${"A".repeat(43)}`,
    `acme.${"A".repeat(42)}=`,
    `acme.${"A".repeat(42)}%2F`,
    `acme%2E${"A".repeat(43)}`,
    `../acme.${"A".repeat(43)}`,
  ].map((token): BadCase => ({
    name: `callback to token ${token.slice(0, 24)}…(${token.length})`,
    endpoint: "callback",
    send: http({
      method: "POST",
      path: `/callbacks/apixo/${token}`,
      tenant: null,
      headers: { "content-type": "application/json" },
      body: '{"code":200,"message":"success","data":{"taskId":"t","state":"success"}}',
    }),
    status: 404,
    type: "NOT_FOUND",
    message: /No such (callback|endpoint)/,
  })),
  ...(
    [
      ["a status envelope", '{"code":200,"message":"success","data":{"taskId":"t","state":"success"}}'],
      ["invalid UTF-8", Buffer.from([0x7b, 0xc3, 0x28, 0x7d])],
      ["an empty body", ""],
      ["not JSON", "garbage"],
    ] as const
  ).map(([what, bytes]): BadCase => ({
    name: `callback with ${what} to an unknown token of a known tenant`,
    endpoint: "callback",
    send: (ctx) => ({
      kind: "http",
      method: "POST",
      path: `/callbacks/apixo/${ctx.unknownToken}`,
      tenant: null,
      headers: { "content-type": "application/json" },
      body: bytes,
    }),
    status: 404,
    type: "NOT_FOUND",
    message: /No such callback/,
  })),
];
