import { InputError } from './errors.js';

/**
 * Parsers for the conventions every action and the CLI share: lists (newlines or commas),
 * booleans, durations (90s, 10m, 72h), enums, KEY=VALUE lists. Each failure is an InputError
 * naming the input.
 */

/** Splits a list on newlines (and, unless commas: false, on commas); trims; drops empty lines. */
export function parseList(value: string | undefined, opts: { commas?: boolean } = {}): string[] {
  if (!value) return [];
  const sep = opts.commas === false ? /\r?\n/ : /\r?\n|,/;
  return value
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Like core.getBooleanInput: true/True/TRUE or false/False/FALSE; empty gives the default. */
export function parseBool(input: string, value: string | undefined, dflt: boolean): boolean {
  const v = (value ?? '').trim();
  if (v === '') return dflt;
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  throw new InputError(input, `'${v}' is not a boolean`, "'true' or 'false'");
}

export function parseEnum<T extends string>(
  input: string,
  value: string | undefined,
  allowed: readonly T[],
  dflt: T,
): T {
  const v = (value ?? '').trim();
  if (v === '') return dflt;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new InputError(
    input,
    `'${v}' is not a known value`,
    `one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
  );
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses 90s, 10m, 72h, 1h30m, 500ms, 2d into milliseconds. */
export function parseDuration(input: string, value: string | undefined, dflt?: string): number {
  const v = (value ?? '').trim() || (dflt ?? '');
  const expected = "a duration such as '90s', '10m' or '72h'";
  if (v === '') throw new InputError(input, 'is empty', expected);
  if (/^\d+$/.test(v)) throw new InputError(input, `'${v}' has no unit`, `${expected} (e.g. '${v}s')`);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== v.length || pos === 0) throw new InputError(input, `'${v}' is not a duration`, expected);
  if (total <= 0) throw new InputError(input, `'${v}' is not a positive duration`, expected);
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)}s`;
}

/** A duration for people, two units at most: 42s, 12m, 3h12m, 2d3h. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** Parses KEY=VALUE lines (newline-separated; values may contain '=' and commas). */
export function parseKeyValues(input: string, value: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of parseList(value, { commas: false })) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InputError(input, `'${line}' is not KEY=VALUE`, 'one KEY=VALUE per line');
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key))
      throw new InputError(
        input,
        `'${key}' is not a valid key`,
        'letters, digits and _ (starting with a letter or _)',
      );
    out.push([key, line.slice(eq + 1)]);
  }
  return out;
}

/*
 * The parsers an input declares beside its default (InputDef.parse). Each gets the value with the
 * default applied and the input's name for its error.
 */

/** A boolean input (see parseBool). */
export const asBool = (value: string, name: string): boolean => parseBool(name, value, false);

/** A duration input (see parseDuration). */
export const asDuration = (value: string, name: string): number => parseDuration(name, value);

/** A list input of one entry per line: entries may hold commas. */
export const asLines = (value: string): string[] => parseList(value, { commas: false });

/** An input with the trimmed value. */
export const asTrimmed = (value: string): string => value.trim();

/** An input that is one of `allowed` (see parseEnum). */
export function oneOf<const T extends string>(allowed: readonly T[]): (value: string, name: string) => T {
  return (value, name) => {
    const v = value.trim();
    if (v === '') throw new InputError(name, 'is empty', `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    return parseEnum(name, v, allowed, allowed[0]!);
  };
}

/** A whole number from 0 to max. */
export function asCount(max: number): (value: string, name: string) => number {
  return (value, name) => {
    const v = value.trim();
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > max)
      throw new InputError(name, `'${value}' is not a count`, `a whole number from 0 to ${max}`);
    return n;
  };
}
