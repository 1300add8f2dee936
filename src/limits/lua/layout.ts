/**
 * Named positions of a script's KEYS or ARGV, shared by the TypeScript that encodes a call and the Lua that
 * reads it: the Lua text gets `local A = { model = 1, cost = 2, ... }` and reads `ARGV[A.model]`, the encoder
 * takes `{ model, cost, ... }` and puts each value where the table says. A list that follows the named
 * positions (buckets, account) starts at `A.rest`.
 *
 * Written by hand because it is twenty lines and no library ties a Lua table to a TypeScript encoder.
 */
export interface Layout<Name extends string> {
  /** `local <table> = { name = 1, ..., rest = n + 1 }` for the script's preamble. */
  readonly lua: string;
  /** The values in layout order; every name must be given. */
  encode(values: Readonly<Record<Name, string>>): string[];
}

export function layout<const Name extends string>(table: string, names: readonly Name[]): Layout<Name> {
  if (new Set(names).size !== names.length) throw new Error(`layout ${table}: duplicate names`);
  const fields = names.map((name, i) => `${name} = ${i + 1}`);
  fields.push(`rest = ${names.length + 1}`);
  return {
    lua: `local ${table} = { ${fields.join(", ")} }\n`,
    encode: (values) => names.map((name) => values[name]),
  };
}
