import { createServer, createConnection, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a server, for faults the server itself cannot make: in `dropReplies` mode what
 * the client sends still reaches the server (and is run there), but every answer is thrown away, as if the
 * network lost it; `cut()` then closes the client's connections; `forgetIdleAfterMs` drops idle connections
 * silently. Like toxiproxy's toxics, in a few lines, because the tests need it in-process and nothing else.
 */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** From now on the server's answers are discarded. */
  dropReplies(): void;
  /** Answers flow again (for new and existing connections). */
  heal(): void;
  /** Closes every client connection (and its server side). */
  cut(): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /**
   * Forget a connection idle this long without telling either side, as a NAT or load balancer does: the next
   * bytes the client sends on it get a reset.
   */
  readonly forgetIdleAfterMs?: number;
}

export async function startTcpProxy(
  targetPort: number,
  scheme = "redis",
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  let dropping = false;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    let lastTrafficMs = Date.now();
    const forgotten = (): boolean =>
      options.forgetIdleAfterMs !== undefined && Date.now() - lastTrafficMs > options.forgetIdleAfterMs;
    client.on("data", (chunk) => {
      if (forgotten()) {
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      lastTrafficMs = Date.now();
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      lastTrafficMs = Date.now();
      if (!dropping) client.write(chunk);
    });
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const cut = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    dropReplies() {
      dropping = true;
    },
    heal() {
      dropping = false;
    },
    cut,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
