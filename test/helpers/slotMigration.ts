import { Redis } from "ioredis";

/**
 * Moves one hash slot from its master to another, the way `redis-cli --cluster reshard` does, but a few keys at
 * a time with a pause between batches, so a load running meanwhile meets every state a resharding has: ASK
 * (a key already moved while the slot migrates), TRYAGAIN (a script whose keys are split between the two
 * nodes) and, once the slot is assigned, MOVED from the old master.
 */
export async function moveSlot(
  slot: number,
  fromPort: number,
  toPort: number,
  allMasterPorts: readonly number[],
  options: { readonly batch: number; readonly pauseMs: number },
): Promise<{ readonly keysMoved: number }> {
  const open = (port: number) => new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  const source = open(fromPort);
  const target = open(toPort);
  try {
    const sourceId = await source.cluster("MYID");
    const targetId = await target.cluster("MYID");
    await target.cluster("SETSLOT", slot, "IMPORTING", sourceId);
    await source.cluster("SETSLOT", slot, "MIGRATING", targetId);
    let keysMoved = 0;
    for (;;) {
      const keys = await source.cluster("GETKEYSINSLOT", slot, options.batch);
      if (keys.length === 0) break;
      await source.migrate("127.0.0.1", toPort, "", 0, 5000, "KEYS", ...keys);
      keysMoved += keys.length;
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
    // The new owner first, then the old one, then every other master (the order the Redis docs give).
    for (const port of [toPort, fromPort, ...allMasterPorts.filter((p) => p !== toPort && p !== fromPort)]) {
      const node = open(port);
      try {
        await node.cluster("SETSLOT", slot, "NODE", targetId);
      } finally {
        node.disconnect();
      }
    }
    return { keysMoved };
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

/** How many replies of an error kind (MOVED, ASK, TRYAGAIN...) a node has sent since it started. */
export async function errorReplies(port: number, kind: string): Promise<number> {
  const node = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const info = await node.info("errorstats");
    const match = new RegExp(`^errorstat_${kind}:count=(\\d+)`, "m").exec(info);
    return match?.[1] === undefined ? 0 : Number(match[1]);
  } finally {
    node.disconnect();
  }
}
