import { createSimulator, parseKeySpecs } from "../simulator/index.js";
import { busyPortMessage } from "./busyPort.js";

export async function simulateCommand(options: {
  port: number;
  host: string;
  key: string[];
  pendingMs: number;
  processingMs?: number;
}): Promise<void> {
  const specs = options.key.length > 0 ? options.key : ["sk-sim-demo:100"];
  const simulator = createSimulator({
    keys: parseKeySpecs(specs),
    pendingMs: options.pendingMs,
    ...(options.processingMs === undefined ? {} : { processingMs: options.processingMs }),
  });
  let url: string;
  try {
    url = await simulator.listen(options.port, options.host);
  } catch (err) {
    const busy = busyPortMessage(err, (suggestion) => `apixo-gateway simulate --port ${suggestion}`);
    if (busy === undefined) throw err;
    process.stderr.write(`${busy}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`APIXO simulator listening on ${url} (${specs.length} key(s))\n`);
  const stop = (): void => {
    void simulator.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
