/**
 * The one line every command prints when its port is taken, instead of Node's EADDRINUSE stack: which port,
 * and how to run on another one. `howToMove` gets a free-looking suggestion (the next port) and the busy port,
 * and names the command's own way (a flag, a config field). Undefined when `err` is anything else.
 */
export function busyPortMessage(
  err: unknown,
  howToMove: (suggestion: number, busy: number) => string,
): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err) || err.code !== "EADDRINUSE")
    return undefined;
  // Node's listen error carries the port it tried; without one there is nothing useful to say.
  if (!("port" in err) || typeof err.port !== "number") return undefined;
  const suggestion = err.port < 65535 ? err.port + 1 : 8081;
  return `Port ${err.port} is in use: run it on another one, e.g. ${howToMove(suggestion, err.port)}`;
}
