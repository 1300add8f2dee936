/**
 * Parses `key:balanceUsd` specs as given on the command line (`--key sk-sim-demo:100`). The balance is after the
 * last colon, so keys may contain colons.
 */
export function parseKeySpecs(specs: readonly string[]): Record<string, number> {
  const keys: Record<string, number> = {};
  for (const spec of specs) {
    const colon = spec.lastIndexOf(":");
    const key = colon === -1 ? "" : spec.slice(0, colon);
    const balanceUsd = colon === -1 ? Number.NaN : Number(spec.slice(colon + 1));
    if (key === "" || !Number.isFinite(balanceUsd) || balanceUsd < 0) {
      throw new Error(`Invalid key spec "${spec}": expected <key>:<balance in USD>, e.g. sk-sim-demo:100`);
    }
    keys[key] = balanceUsd;
  }
  return keys;
}
