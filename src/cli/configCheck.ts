import { ConfigError, loadConfigFile } from "../config/load.js";

/** Exit code 0 when the file is valid, 1 with every problem listed when it is not. */
export async function configCheckCommand(file: string): Promise<number> {
  try {
    const config = await loadConfigFile(file);
    process.stdout.write(`${file}: valid (${config.tenants.length} tenant(s), store ${config.store.kind})\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
}
