import { readFileSync } from "node:fs";
import { z } from "zod";

const packageJson = z.object({ version: z.string().min(1) });

/**
 * The gateway's version, read from package.json: the one place it is written. package.json sits one level above
 * this module both in src/ (run with tsx) and in dist/ (the build), and ships with the npm package and the image.
 */
export const GATEWAY_VERSION: string = packageJson.parse(
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")),
).version;
