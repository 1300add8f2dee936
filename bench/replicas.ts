/**
 * `npm run bench -- --replicas`: governed submits per second with 1 and with 2 gateway processes sharing one
 * Redis (what `serve --workers 2` or a second replica on the same host would give). Closed loop, 32
 * connections in all, split evenly over the processes; rounds alternate 1, 2, 1, 2 with fresh processes.
 * It backs the "one process per container" decision in docs/scaling.md with a figure for this machine.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startGatewayProcess, UPSTREAM_KEY } from "./gateway.js";
import { Client, closedLoop } from "./load.js";
import { SubmitOnly } from "./mix.js";
import { nginxInstalled, startFixedUpstream } from "./nginx.js";
import {
  buildGateway,
  cpuMicros,
  loadAverage,
  RESULTS_DIR,
  startRedis,
  startSimulator,
  type Proc,
} from "./procs.js";

const { values: opts } = parseArgs({
  options: {
    replicas: { type: "boolean" },
    rounds: { type: "string", default: "2" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
  },
  allowPositionals: true,
});

interface Sample {
  readonly processes: number;
  readonly rps: number;
  readonly errors: number;
  readonly cpuUsPerReq: number;
}

async function measure(
  processes: number,
  redisUrl: string,
  upstreamUrl: string,
  round: number,
): Promise<Sample> {
  const gateways = await Promise.all(
    Array.from({ length: processes }, (_, i) =>
      startGatewayProcess({
        name: `replicas-${processes}-r${round}-${i}`,
        simulatorUrl: upstreamUrl,
        redisUrl,
        tenants: 1,
        logFile: resolve(RESULTS_DIR, `replicas-${processes}-${i}.audit.log`),
      }),
    ),
  );
  try {
    const clients = gateways.map(
      (g) =>
        new Client({ name: g.proc.name, url: g.url, authorization: `Bearer ${g.key}` }, new SubmitOnly()),
    );
    const perProcess = Math.max(1, Math.floor(Number(opts.connections) / processes));
    await Promise.all(clients.map((c) => closedLoop(c, perProcess, Number(opts.warmup))));
    const cpuBefore = gateways.map((g) => cpuMicros(g.proc.pid));
    const results = await Promise.all(clients.map((c) => closedLoop(c, perProcess, Number(opts.duration))));
    const cpu = gateways.reduce((sum, g, i) => sum + cpuMicros(g.proc.pid) - (cpuBefore[i] ?? 0), 0);
    const requests = results.reduce((sum, r) => sum + r.requests, 0);
    const errors = results.reduce((sum, r) => sum + r.errors, 0);
    const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
    return {
      processes,
      rps: Math.round((requests / elapsedMs) * 1000),
      errors,
      cpuUsPerReq: Math.round(cpu / requests),
    };
  } finally {
    await Promise.all(gateways.map((g) => g.proc.stop()));
  }
}

async function main(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const loadBefore = loadAverage();
  buildGateway();
  const owned: Proc[] = [];
  try {
    const redis = await startRedis();
    owned.push(redis.proc);
    const upstream = nginxInstalled() ? await startFixedUpstream() : await startSimulator(UPSTREAM_KEY, 1000);
    owned.push(upstream.proc);
    const samples: Sample[] = [];
    for (let round = 0; round < Number(opts.rounds); round++) {
      for (const processes of [1, 2]) {
        const sample = await measure(processes, redis.url, upstream.url, round);
        samples.push(sample);
        process.stdout.write(`round ${round + 1}: ${JSON.stringify(sample)}\n`);
      }
    }
    process.stdout.write(`\nload average before ${loadBefore}, after ${loadAverage()}\n`);
    process.stdout.write(
      "| gateway processes | governed submits/s (rounds) | gateway CPU us/req | errors |\n| --- | --- | --- | --- |\n",
    );
    for (const processes of [1, 2]) {
      const mine = samples.filter((s) => s.processes === processes);
      process.stdout.write(
        `| ${processes} | ${mine.map((s) => s.rps).join(" / ")} | ${mine.map((s) => s.cpuUsPerReq).join(" / ")} | ${mine.reduce((n, s) => n + s.errors, 0)} |\n`,
      );
    }
  } finally {
    for (const p of owned.reverse()) await p.stop();
  }
}

await main();
