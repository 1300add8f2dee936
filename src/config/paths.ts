/** Where a value sits in the configuration document: keys and list indexes from the root. */
export type Path = readonly (string | number)[];

/** `tenants[2].keys[0].hash`: the path style users see in every message. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * The paths earlier checks (unset variables, the schema) already reported. Cross-checks leave a value there
 * alone, so each wrong value is one problem, and still check every value that passed.
 */
export class Reported {
  private readonly exact = new Set<string>();
  private readonly within = new Set<string>();

  constructor(paths: readonly Path[]) {
    for (const path of paths) {
      this.exact.add(formatPath(path));
      for (let end = 0; end <= path.length; end++) this.within.add(formatPath(path.slice(0, end)));
    }
  }

  /** Nothing at `path` or under it was reported: the value there is what the schema accepts. */
  clean(path: Path): boolean {
    return !this.within.has(formatPath(path));
  }

  /** A problem names `path` itself (e.g. a list that is empty or not a list), not only something inside it. */
  at(path: Path): boolean {
    return this.exact.has(formatPath(path));
  }
}
