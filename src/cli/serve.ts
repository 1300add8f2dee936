import { ConfigError, loadConfigFile } from "../config/load.js";
import { startGateway } from "../gateway/gateway.js";
import { createLogger } from "../telemetry/logger.js";

/** Runs until SIGTERM/SIGINT; SIGHUP re-reads the config file. */
export async function serveCommand(configPath: string | undefined): Promise<void> {
  if (configPath === undefined || configPath === "") {
    process.stderr.write("apixo-gateway serve: give --config <file> or set APIXO_GATEWAY_CONFIG\n");
    process.exitCode = 1;
    return;
  }
  let config;
  try {
    config = await loadConfigFile(configPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`apixo-gateway: refusing to start\n${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger(process.env.LOG_LEVEL ?? config.logging.level);
  const gateway = await startGateway({ config, configPath, logger });

  process.on("SIGHUP", () => {
    logger.info({ event: "sighup" }, "reloading configuration");
    void gateway.reload();
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: "shutdown", signal }, "draining in-flight requests");
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => {
    stop("SIGTERM");
  });
  process.on("SIGINT", () => {
    stop("SIGINT");
  });
}
