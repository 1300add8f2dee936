/**
 * `npm run bench`: the default run (bench/run.ts); `--compare` the side-by-side run against the floors
 * (bench/compare.ts); `--growth` CPU per submit as tasks in flight grow (bench/growth.ts); `--replicas` governed
 * submits/s with 1 and 2 gateway processes on one Redis (bench/replicas.ts).
 */
if (process.argv.includes("--compare")) await import("./compare.js");
else if (process.argv.includes("--growth")) await import("./growth.js");
else if (process.argv.includes("--replicas")) await import("./replicas.js");
else await import("./run.js");
