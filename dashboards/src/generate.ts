import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDashboards, renderDashboard } from "./index.js";

/**
 * `npm run dashboards` writes dashboards/*.json from the code in dashboards/src;
 * `npm run dashboards:check` (CI) exits 1 when a committed file differs from what the code generates.
 */
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

async function committed(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function generate(check: boolean): Promise<number> {
  const stale: string[] = [];
  for (const { file, dashboard } of buildDashboards()) {
    const path = join(OUT_DIR, file);
    const text = renderDashboard(dashboard);
    if (check) {
      if ((await committed(path)) !== text) stale.push(file);
    } else {
      await writeFile(path, text);
      process.stdout.write(`wrote dashboards/${file}\n`);
    }
  }
  if (stale.length > 0) {
    process.stderr.write(
      `dashboards out of date: ${stale.map((f) => `dashboards/${f}`).join(", ")}\n` +
        "run `npm run dashboards` and commit the result\n",
    );
    return 1;
  }
  if (check) process.stdout.write("dashboards are up to date\n");
  return 0;
}

process.exitCode = await generate(process.argv.includes("--check"));
