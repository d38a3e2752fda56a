/**
 * The inputs an action (and the matching CLI command) accepts: one table per action, the source the
 * action.yml, the README table and the CLI flags are checked against. Raw values are strings, as
 * the runner gives them; the engine's parsers turn them into options.
 */
export interface InputDef<T = unknown> {
  description: string;
  /** The default the runner applies (and the CLI applies) when the input is not given. */
  default?: string;
  required?: boolean;
  /** Secrets are masked before use and never echoed. */
  secret?: boolean;
  /**
   * The parser of this input's own format, beside its default (core/inputs.ts has the common ones):
   * the value, its default applied, into what the engine uses, or an InputError naming the input.
   * An action that picks this input from another's spec (pickInputs) picks its parser too. What
   * depends on other inputs is checked by the action's parse function, after every parser ran.
   */
  parse?: (value: string, name: string) => T;
}

export type InputSpec = Record<string, InputDef>;
export type RawInputs<S extends InputSpec> = { [K in keyof S]: string };
/** Each input as its parser gives it, or its raw value when it has none. */
export type ParsedInputs<S extends InputSpec> = {
  [K in keyof S]: S[K] extends { parse: (value: string, name: string) => infer T } ? T : string;
};

/**
 * Every input through its parser, in the spec's order (the first bad one is the error). A value of
 * only blanks counts as not given: its default applies, as the runner applies it to an absent input.
 */
export function parseInputs<S extends InputSpec>(spec: S, raw: RawInputs<S>): ParsedInputs<S> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(spec)) {
    const given = raw[name] ?? '';
    const value = given.trim() === '' ? (def.default ?? '') : given;
    out[name] = def.parse ? def.parse(value, name) : value;
  }
  return out as ParsedInputs<S>;
}

/** Applies defaults to what a caller gave; unknown names are refused with the list of known ones. */
export function withDefaults<S extends InputSpec>(
  spec: S,
  given: Record<string, string | undefined>,
  context = 'input',
): RawInputs<S> {
  const known = Object.keys(spec);
  for (const name of Object.keys(given)) {
    if (!(name in spec)) throw new Error(`Unknown ${context} '${name}'. Known: ${known.join(', ')}`);
  }
  const out: Record<string, string> = {};
  for (const [name, def] of Object.entries(spec)) {
    const v = given[name];
    out[name] = v === undefined || v === '' ? (def.default ?? '') : v;
  }
  return out as RawInputs<S>;
}

/**
 * Some inputs of another spec, by name, as they are there (default, description): an action that
 * shares inputs with another names them instead of copying them.
 */
export function pickInputs<S extends InputSpec, K extends keyof S & string>(
  spec: S,
  ...names: K[]
): Pick<S, K> {
  const out = {} as Pick<S, K>;
  for (const n of names) out[n] = spec[n];
  return out;
}

/** The values of those inputs, from raw inputs that hold them (to pass on to the other parser). */
export function pickValues<K extends string>(raw: Record<K, string>, names: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const n of names) out[n] = raw[n];
  return out;
}
