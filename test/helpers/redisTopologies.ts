import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { RedisTopology } from "../../src/config/redis.js";
import { freePort } from "./ports.js";

const run = promisify(execFile);

/** One redis-server (data node or sentinel) this harness started, stopped by its PID. */
export interface OwnedProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** kill -9, and wait for the exit. */
  kill(): Promise<void>;
}

function own(port: number, args: readonly string[]): OwnedProcess {
  const child = spawn("redis-server", [...args], { stdio: "ignore" });
  child.on("error", (err) => {
    throw new Error(`could not start redis-server: ${err.message}`);
  });
  return {
    port,
    child,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

async function until(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

const DATA_NODE = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"];

function clusterNodeArgs(port: number, bus: number, dir: string): string[] {
  const conf = join(dir, `nodes-${port}.conf`);
  return ["--port", String(port), "--cluster-enabled", "yes", "--cluster-port", String(bus)].concat([
    "--cluster-config-file",
    conf,
    "--dir",
    dir,
    ...DATA_NODE,
  ]);
}

/**
 * A server on two fresh ports (its own and a cluster bus), answering PING. A port another test took between
 * freePort() and the bind makes redis-server exit at once: then it is tried again on other ports.
 */
async function launchNode(argsFor: (port: number, bus: number) => string[]): Promise<OwnedProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const node = own(port, argsFor(port, await freePort()));
    try {
      await until(`redis-server on ${port}`, Date.now() + 10_000, async () => {
        if (node.child.exitCode !== null) throw new Error("exited");
        return ask(port, async (r) => {
          await r.ping();
          return true;
        });
      });
      return node;
    } catch (err) {
      await node.kill();
      if (attempt >= 3) throw err;
    }
  }
}

export interface RedisClusterHarness {
  readonly topology: RedisTopology;
  readonly nodes: readonly OwnedProcess[];
  /** Ports of the masters, in slot order, as the cluster has them now. */
  masters(): Promise<readonly number[]>;
  /** The port of the master serving a slot. */
  masterOf(slot: number): Promise<number>;
  /** Waits until the cluster says ok again and every slot has a live master (after a kill). */
  healthy(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A real Redis Cluster: 3 masters and 3 replicas on free loopback ports, built with redis-cli --cluster. */
export async function startRedisCluster(): Promise<RedisClusterHarness> {
  const dir = mkdtempSync(join(tmpdir(), "agw-cluster-"));
  const nodes: OwnedProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) {
      nodes.push(
        await launchNode((port, bus) => [
          ...clusterNodeArgs(port, bus, dir),
          // Short, so a killed master's replica takes over within a couple of seconds in the failover test.
          "--cluster-node-timeout",
          "1000",
        ]),
      );
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ]);
    const live = (): OwnedProcess[] =>
      nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
    const slotsOf = async (): Promise<[number, number, number][]> => {
      const first = live()[0];
      if (first === undefined) throw new Error("no live node");
      const reply = await ask(first.port, (r) => r.cluster("SLOTS"));
      return reply.map(([from, to, master]): [number, number, number] => [from, to, master?.[1] ?? -1]);
    };
    const healthy = async (timeoutMs: number): Promise<void> => {
      const alive = new Set(live().map((n) => n.port));
      await until("cluster state ok", Date.now() + timeoutMs, async () => {
        for (const node of live()) {
          const info = await ask(node.port, (r) => r.cluster("INFO"));
          if (!info.includes("cluster_state:ok")) return false;
        }
        const slots = await slotsOf();
        const covered = slots.reduce((sum, [from, to]) => sum + to - from + 1, 0);
        return covered === 16_384 && slots.every(([, , port]) => alive.has(port));
      });
    };
    await healthy(20_000);
    return {
      topology: {
        topology: "cluster",
        nodes: nodes.slice(0, 3).map((n) => ({ host: "127.0.0.1", port: n.port })),
        tls: false,
        maxRedirections: 16,
        retryDelayOnClusterDownMs: 100,
        replicaAcks: 1,
        replicaAckTimeoutMs: 100,
      },
      nodes,
      async masters() {
        return (await slotsOf()).sort((a, b) => a[0] - b[0]).map(([, , port]) => port);
      },
      async masterOf(slot) {
        const range = (await slotsOf()).find(([from, to]) => slot >= from && slot <= to);
        if (range === undefined) throw new Error(`slot ${slot} has no master`);
        return range[2];
      },
      healthy,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface SentinelHarness {
  readonly topology: RedisTopology;
  readonly masterName: string;
  readonly primary: OwnedProcess;
  readonly replica: OwnedProcess;
  readonly sentinels: readonly OwnedProcess[];
  /** The port the sentinels name as the primary now. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** A primary, one replica and three sentinels (quorum 2) on free loopback ports. */
export async function startSentinelSetup(): Promise<SentinelHarness> {
  const dir = mkdtempSync(join(tmpdir(), "agw-sentinel-"));
  const masterName = "agw-primary";
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const primary = own(primaryPort, ["--port", String(primaryPort), "--dir", dir, ...DATA_NODE]);
  const replica = own(replicaPort, [
    "--port",
    String(replicaPort),
    "--replicaof",
    "127.0.0.1",
    String(primaryPort),
    "--dir",
    dir,
    ...DATA_NODE,
  ]);
  const sentinels: OwnedProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([primary, replica, ...sentinels].map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 5000`,
          `sentinel parallel-syncs ${masterName} 1`,
          "",
        ].join("\n"),
      );
      sentinels.push(own(port, [file, "--sentinel"]));
    }
    await until("replica in sync", Date.now() + 10_000, () =>
      ask(replicaPort, async (r) => (await r.info("replication")).includes("master_link_status:up")),
    );
    const primaryNow = async (): Promise<number> => {
      for (const s of sentinels) {
        try {
          const addr = (await ask(s.port, (r) =>
            r.call("SENTINEL", "get-master-addr-by-name", masterName),
          )) as [string, string] | null;
          if (addr !== null) return Number(addr[1]);
        } catch {
          // this sentinel is not up; ask the next
        }
      }
      throw new Error("no sentinel names a primary");
    };
    for (const s of sentinels) {
      await until(`sentinel ${s.port} sees the replica`, Date.now() + 10_000, async () => {
        const replicas = (await ask(s.port, (r) => r.call("SENTINEL", "replicas", masterName))) as unknown[];
        return replicas.length >= 1;
      });
    }
    return {
      topology: {
        topology: "sentinel",
        sentinels: sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
        masterName,
        db: 0,
        tls: false,
        sentinelTls: false,
        replicaAcks: 1,
        replicaAckTimeoutMs: 100,
      },
      masterName,
      primary,
      replica,
      sentinels,
      primaryPort: primaryNow,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One server that is not a plain data node: a cluster node no cluster was made of, or a lone sentinel. */
export async function startLoneNode(
  kind: "cluster-node" | "sentinel",
): Promise<OwnedProcess & { stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "agw-lone-"));
  const port = await freePort();
  let node: OwnedProcess;
  if (kind === "cluster-node") {
    const bus = await freePort();
    node = own(port, clusterNodeArgs(port, bus, dir));
  } else {
    const file = join(dir, "sentinel.conf");
    writeFileSync(file, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor nowhere 127.0.0.1 1 1\n`);
    node = own(port, [file, "--sentinel"]);
  }
  const stop = async (): Promise<void> => {
    await node.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(`${kind} ${port}`, Date.now() + 10_000, () =>
      ask(port, async (r) => {
        await r.ping();
        return true;
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...node, stop };
}
