import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}

interface CpuProfile {
  readonly nodes: CpuProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly idlePct: number;
  readonly top: ProfileEntry[];
  /** Self time by package (node_modules/<pkg>), by node internals, by the gateway's own src/ files. */
  readonly byPackage: ProfileEntry[];
}

function packageOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0] ?? ""}`;
  const own = /\/(?:dist|src)\/([^/]+)\//.exec(url);
  if (own?.[1] !== undefined) return `gateway ${own[1]}/`;
  return url;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("node_modules/");
  if (nm !== -1) return url.slice(nm + 13);
  const own = /\/(?:dist|src)\/(.*)$/.exec(url);
  return own?.[1] ?? url;
}

/** Aggregates self time by function+file (and by package) over one .cpuprofile. */
export function summariseProfile(file: string, topN = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = profile.endTime - profile.startTime;
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const name =
      `${functionName === "" ? "(anonymous)" : functionName} ${url === "" ? "" : `${shortUrl(url)}:${lineNumber + 1}`}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    const p = packageOf(url, functionName);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const entries = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        selfMs: Math.round(us / 100) / 10,
        selfPct: Math.round((us / busyUs) * 1000) / 10,
      }));
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    idlePct: Math.round((idleUs / totalUs) * 1000) / 10,
    top: entries(fn, topN),
    byPackage: entries(pkg, 40),
  };
}

export function newestProfile(dir: string): string | undefined {
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (a loader such as tsx's
  // runs in a worker thread of its own, with a profile of its own).
  const files = readdirSync(dir)
    .filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
    .sort();
  const last = files[files.length - 1];
  return last === undefined ? undefined : join(dir, last);
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [
    `profile ${summary.file}: ${summary.totalMs} ms, idle ${summary.idlePct}% (percentages below are of busy time)`,
    "",
    "self time by package:",
    ...summary.byPackage.map(
      (e) => `  ${e.selfPct.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`,
    ),
    "",
    "top functions by self time:",
    ...summary.top.map(
      (e) => `  ${e.selfPct.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`,
    ),
  ];
  return lines.join("\n");
}
