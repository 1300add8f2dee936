import { ConfigError, loadConfigFile } from "../config/load.js";
import { StoreMisconfigured } from "../limits/redisProbe.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { bufferedAuditOutput, createLogger, logLevelFrom } from "../telemetry/logger.js";
import { startTracing } from "../telemetry/tracing.js";
import { busyPortMessage } from "./busyPort.js";

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
  // Off (and the SDK not even loaded) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const tracing = await startTracing();
  const level = logLevelFrom(process.env, config.logging.level);
  const logger = createLogger(level);
  const audit = bufferedAuditOutput({
    bytes: config.logging.auditBufferBytes,
    flushMs: config.logging.auditFlushMs,
  });
  // Every way out that runs JavaScript passes here (process.exit after draining, an uncaught exception).
  if (audit !== undefined) process.on("exit", () => audit.flushSync());
  // Handlers go in before the gateway starts: a signal that arrives once the port is open must never hit
  // Node's default action (SIGHUP would kill the process).
  const running: { gateway?: RunningGateway } = {};
  let stopping = false;
  process.on("SIGHUP", () => {
    if (running.gateway === undefined || stopping) return;
    logger.info({ event: "sighup" }, "reloading configuration");
    void running.gateway.reload();
  });
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: "shutdown", signal }, "draining in-flight requests");
    const closed = running.gateway === undefined ? Promise.resolve() : running.gateway.close();
    closed
      // The last spans (the drained requests') are flushed before the process goes.
      .then(() => tracing.shutdown())
      .then(
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
  try {
    running.gateway = await startGateway({
      config,
      configPath,
      logger,
      ...(audit === undefined ? {} : { auditLogger: createLogger(level, audit) }),
      tracer: tracing.tracer,
    });
  } catch (err) {
    const busy = busyPortMessage(err, (suggestion, port) => {
      const field = port === config.server.metricsPort ? "server.metricsPort" : "server.port";
      return `set ${field}: ${suggestion} in ${configPath}`;
    });
    if (err instanceof StoreMisconfigured) {
      process.stderr.write(`apixo-gateway serve: the limit store cannot be used: ${err.message}\n`);
      process.exitCode = 1;
      await tracing.shutdown();
      return;
    }
    if (busy === undefined) throw err;
    process.stderr.write(`${busy}\n`);
    process.exitCode = 1;
    await tracing.shutdown();
  }
}
