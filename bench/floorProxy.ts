/**
 * The floor: the least a Node.js reverse proxy can do per request on this machine, to set the gateway's figures
 * against. It authenticates nothing, parses nothing, and forwards with node:http over a keep-alive pool.
 * With --redis it also makes one trivial Lua call per request before forwarding, and with --log it writes one
 * log line per request (written in 8 KiB blocks): the two things every governed request of the gateway must pay for at least once.
 * --record adds a second trivial Lua call once the upstream has answered, sent before the answer and not
 * waited for, as the gateway sends a submit's task record: with --redis --record --log the floor pays the
 * syscalls and wake-ups of a governed submit (two store round trips, one log line) and does none of its work.
 *
 *   tsx bench/floorProxy.ts --port P --upstream http://127.0.0.1:Q --key K [--redis URL [--record]] [--log]
 */
import { Agent, createServer, request, type OutgoingHttpHeaders } from "node:http";
import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    upstream: { type: "string" },
    key: { type: "string" },
    redis: { type: "string" },
    log: { type: "boolean", default: false },
    record: { type: "boolean", default: false },
  },
});
const upstream = new URL(values.upstream ?? "");
const authorization = `Bearer ${values.key ?? ""}`;
const agent = new Agent({ keepAlive: true, maxSockets: 256, scheduling: "lifo" });
const redis =
  values.redis === undefined ? undefined : new Redis(values.redis, { enableAutoPipelining: false });
const SCRIPT = "return redis.call('INCR', KEYS[1])";
const sha = redis === undefined ? "" : String(await redis.script("LOAD", SCRIPT));

let logBlock = "";

const server = createServer({ keepAlive: true }, (req, res) => {
  const started = process.hrtime.bigint();
  const forward = (): void => {
    const headers: OutgoingHttpHeaders = { ...req.headers, authorization, host: upstream.host };
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (answer) => {
        if (values.record && redis !== undefined)
          redis.evalsha(sha, 1, "floor:records").catch(() => undefined);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.once("end", () => {
          if (values.log) {
            const us = Number(process.hrtime.bigint() - started) / 1000;
            logBlock += `{"level":30,"msg":"request","status":${res.statusCode},"us":${us}}\n`;
            // Written in blocks of 8 KiB, as the gateway's audit log is (logging.auditBufferBytes).
            if (logBlock.length >= 8192) {
              writeSync(1, logBlock);
              logBlock = "";
            }
          }
        });
      },
    );
    out.once("error", () => {
      res.writeHead(502).end();
    });
    req.pipe(out);
  };
  if (redis === undefined) {
    forward();
    return;
  }
  redis.evalsha(sha, 1, "floor:counter").then(forward, () => res.writeHead(503).end());
});
server.listen(Number(values.port), "127.0.0.1");
process.once("SIGTERM", () => {
  server.close();
  agent.destroy();
  redis?.disconnect();
});
