/**
 * `npm run bench`: the default run (bench/run.ts); `--compare` the side-by-side run against the floors
 * (bench/compare.ts); `--growth` CPU per submit as tasks in flight grow (bench/growth.ts).
 */
if (process.argv.includes("--compare")) await import("./compare.js");
else if (process.argv.includes("--growth")) await import("./growth.js");
else await import("./run.js");
