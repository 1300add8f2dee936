import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

interface LockedPackage {
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const ROOT = join(import.meta.dirname, "../..");
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as LockedPackage;
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, LockedPackage>;
};

/** Node's lookup: the package's own node_modules, then each enclosing one up to the root's. */
function resolves(from: string, name: string): boolean {
  let base = from;
  for (;;) {
    if (lock.packages[base === "" ? `node_modules/${name}` : `${base}/node_modules/${name}`]) return true;
    if (base === "") return false;
    const parent = base.lastIndexOf("/node_modules/");
    base = parent === -1 ? "" : base.slice(0, parent);
  }
}

/** What npm ci needs in the lock for one package, on every platform (optional builds included). */
function required(pkg: LockedPackage): string[] {
  const peers = Object.keys(pkg.peerDependencies ?? {}).filter(
    (name) => pkg.peerDependenciesMeta?.[name]?.optional !== true,
  );
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...peers];
}

describe("package-lock.json", () => {
  it("lists package.json's dependencies as they are written, so npm install has nothing to rewrite", () => {
    const root = lock.packages[""];
    expect(root?.dependencies).toEqual(manifest.dependencies);
    expect(root?.devDependencies).toEqual(manifest.devDependencies);
  });

  it("names every platform's optional builds (rollup, esbuild), so npm ci accepts it on any machine", () => {
    const missing = Object.entries(lock.packages).flatMap(([path, pkg]) =>
      required(pkg)
        .filter((name) => !resolves(path, name))
        .map((name) => `${path === "" ? "(root)" : path} -> ${name}`),
    );
    expect(missing).toEqual([]);
  });
});
