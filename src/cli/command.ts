import type { InputSpec, Logger } from '../core/index.js';
import { GLOBAL_FLAGS, type OwnFlag, type ParsedCommandLine } from './flags.js';

/** One `c2c` command (`hash-base`, `feature-env up`): its flags, its help, what it runs. */
export interface CliCommand {
  /** As typed: 'hash-base', 'feature-env up'. */
  name: string;
  summary: string;
  /** The action inputs it takes as flags, same names and defaults. */
  inputs: InputSpec;
  /** Flags of the command line only (not action inputs). */
  own?: Record<string, OwnFlag>;
  /** Flags that must be given (exit code 2 when one is missing). */
  required?: readonly string[];
  /** How an input's flag reads in --help where it differs from the action's input. */
  helpOverrides?: Record<string, { value?: string; description?: string }>;
  /** Flag sections in --help (default: one, "flags (the inputs of the action, same names and defaults)"). */
  sections?: Array<{ title: string; flags: string[] }>;
  /** Lines after the flags in --help. */
  notes?: string[];
  /** The log goes to stderr: stdout carries only the command's result (a plan, a list). */
  logToStderr?: boolean;
  run(args: ParsedCommandLine, logger: Logger): Promise<CommandResult>;
}

export interface CommandResult {
  /** The action's outputs: `name=value` lines for people, the JSON object with --json. */
  outputs?: Record<string, string>;
  /** For people, printed before the outputs (a summary, a table, a plan). */
  text?: string;
  /** The --json document when it is not the outputs. */
  json?: unknown;
  /** Printed on stdout in every mode (deploy --render's YAML); the outputs then go to stderr. */
  document?: string;
  exitCode?: number;
}

/** A command with subcommands (`feature-env up|down|reap|list`). */
export interface CliGroup {
  name: string;
  summary: string;
  commands: Record<string, CliCommand>;
}

function flagLine(flag: string, value: string | undefined, suffix: string, description: string): string[] {
  return [`  --${flag}${value ? ` ${value}` : ''}${suffix}`, `      ${description}`];
}

export function commandHelp(c: CliCommand): string {
  const lines = [`usage: c2c ${c.name} [flags]`, '', c.summary];
  const required = new Set(c.required ?? []);
  const inputLines = (flag: string) => {
    const def = c.inputs[flag]!;
    const o = c.helpOverrides?.[flag];
    const d =
      def.required || required.has(flag)
        ? ' (required)'
        : def.default && !def.default.startsWith('${{')
          ? ` (default: ${def.default})`
          : '';
    return flagLine(flag, o?.value, d, o?.description ?? def.description);
  };
  const sections = c.sections ?? [
    { title: 'flags (the inputs of the action, same names and defaults):', flags: Object.keys(c.inputs) },
  ];
  for (const s of sections) {
    if (!s.flags.length) continue;
    lines.push('', s.title);
    for (const flag of s.flags) lines.push(...inputLines(flag));
  }
  const own = Object.entries(c.own ?? {});
  if (own.length) {
    lines.push('', 'flags of the command line:');
    for (const [flag, def] of own)
      lines.push(
        ...flagLine(
          flag,
          def.value,
          required.has(flag) ? ' (required)' : def.default ? ` (default: ${def.default})` : '',
          def.description,
        ),
      );
  }
  lines.push('', 'global flags:');
  for (const [flag, def] of Object.entries(GLOBAL_FLAGS))
    lines.push(...flagLine(flag, def.value, '', def.description));
  if (c.notes?.length) lines.push('', ...c.notes);
  lines.push('', 'exit codes: 0 success, 1 failure, 2 bad usage');
  return lines.join('\n');
}

export function groupHelp(g: CliGroup): string {
  const lines = [`usage: c2c ${g.name} <${Object.keys(g.commands).join('|')}> [flags]`, '', g.summary, ''];
  for (const [name, c] of Object.entries(g.commands)) lines.push(`  ${name.padEnd(6)} ${c.summary}`);
  lines.push('', `c2c ${g.name} <command> --help lists its flags.`);
  return lines.join('\n');
}
