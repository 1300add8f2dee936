import type { Server } from "node:http";

/**
 * Graceful stop: refuse new connections, tell keep-alive clients to go (`Connection: close` on the next
 * answer), let in-flight requests finish, and cut whatever is left after the grace period.
 */
export async function drain(server: Server, graceMs: number): Promise<void> {
  // Prepended so the header is set before the app can write its answer.
  server.prependListener("request", (_req, res) => {
    res.setHeader("Connection", "close");
  });
  const closed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  server.closeIdleConnections();
  const idleSweep = setInterval(() => {
    server.closeIdleConnections();
  }, 100);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  await Promise.race([closed, timedOut]);
  clearInterval(idleSweep);
  clearTimeout(timer);
}
