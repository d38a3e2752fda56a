import path from 'node:path';
import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';
import { C2CError, errorMessage } from '../core/index.js';
import type { InputSpec } from '../core/index.js';

/**
 * The command line of `c2c`: each command takes its action's inputs as flags of the same names
 * (`--files requirements.txt`, `--files=x`; a flag given twice adds a line, as a multi-line input),
 * flags of its own, and the global flags. Parsed with node:util parseArgs; anything else is bad
 * usage (a UsageError: exit code 2, one line that names the flag).
 */

/** Bad usage of the command line (an unknown flag, a missing value, a required flag left out): exit code 2. */
export class UsageError extends C2CError {
  override name = 'UsageError';
}

/** A flag of the CLI that is not an action input. */
export interface OwnFlag {
  description: string;
  /** A switch (`--render`), not `--name value`. */
  boolean?: boolean;
  /** How its value reads in --help (`PATH`, `owner/repo`). */
  value?: string;
  default?: string;
}

/** The flags every command takes. */
export const GLOBAL_FLAGS: Record<string, OwnFlag> = {
  workspace: {
    value: 'DIR',
    description: 'The directory inputs are relative to (default: the current directory).',
  },
  json: {
    boolean: true,
    description: 'Print the result as JSON on stdout (the log then goes to stderr).',
  },
  verbose: { boolean: true, description: 'Print debug lines too (the commands run, among others).' },
};

export interface GlobalFlags {
  workspace: string;
  json: boolean;
  verbose: boolean;
}

export interface ParsedCommandLine {
  /** The action inputs given, by input name; a flag given twice: its values on two lines. */
  raw: Record<string, string>;
  /** The command's own flags given. */
  own: Record<string, string | boolean>;
  g: GlobalFlags;
}

/** What node:util parseArgs says, in the words of this command line. */
function usageProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = errorMessage(err);
  const option = /'(-{1,2}[^' <]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown flag '${option}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing/.test(message)) return `flag '${option}' needs a value`;
    if (/does not take an argument/.test(message)) return `flag '${option}' takes no value`;
    if (/ambiguous/.test(message))
      return `the value of flag '${option}' starts with '-': write it as ${option}=VALUE`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1];
    return `unexpected argument${arg !== undefined ? ` '${arg}'` : ''}: flags are --name value`;
  }
  return message;
}

/**
 * Parses the flags of one command: `inputs` (string flags, repeatable), `own` flags, and the global
 * flags. `required` flags must be given with a non-empty value (`a|b`: one of the two). `elsewhere` names, for a flag this
 * command does not take, the command that does (`--render is a flag of 'c2c deploy'`).
 */
export function parseFlags(
  argv: string[],
  o: {
    inputs: InputSpec;
    own?: Record<string, OwnFlag>;
    required?: readonly string[];
    elsewhere?: Record<string, string>;
  },
): ParsedCommandLine {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  const own = { ...GLOBAL_FLAGS, ...o.own };
  for (const [flag, def] of Object.entries(own))
    options[flag] = def.boolean ? { type: 'boolean' } : { type: 'string' };
  for (const flag of Object.keys(o.inputs)) options[flag] = { type: 'string', multiple: true };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseNodeArgs({ args: argv, options, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (err) {
    const flag = /'--([^' =<]+)/.exec(errorMessage(err))?.[1];
    const where = flag ? o.elsewhere?.[flag] : undefined;
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && where)
      throw new UsageError(`--${flag} is a flag of '${where}', not of this command`);
    throw new UsageError(usageProblem(err));
  }
  const raw: Record<string, string> = {};
  for (const flag of Object.keys(o.inputs)) {
    const v = values[flag];
    if (Array.isArray(v)) raw[flag] = v.join('\n');
  }
  const given: Record<string, string | boolean> = {};
  for (const flag of Object.keys(o.own ?? {})) {
    const v = values[flag];
    if (v !== undefined && !Array.isArray(v)) given[flag] = v;
  }
  // 'a|b': one of them.
  for (const entry of o.required ?? []) {
    const flags = entry.split('|');
    const set = (flag: string) => {
      const v = raw[flag] ?? given[flag];
      return !(v === undefined || (typeof v === 'string' && v.trim() === ''));
    };
    if (!flags.some(set))
      throw new UsageError(`flag ${flags.map((f) => `'--${f}'`).join(' or ')} is required`);
  }
  return {
    raw,
    own: given,
    g: {
      workspace: path.resolve(typeof values.workspace === 'string' ? values.workspace : process.cwd()),
      json: values.json === true,
      verbose: values.verbose === true,
    },
  };
}
