import type { CliCommand, CliGroup } from '../command.js';
import { deployCommand } from './deploy.js';
import { featureEnvGroup } from './feature-env.js';
import { hashBaseCommand } from './hash-base.js';
import { planCommand } from './plan.js';

/** Every `c2c` command, in the order `c2c --help` lists them. */
export const COMMANDS: Record<string, CliCommand | CliGroup> = {
  'hash-base': hashBaseCommand,
  deploy: deployCommand,
  plan: planCommand,
  'feature-env': featureEnvGroup,
};

export function isGroup(c: CliCommand | CliGroup): c is CliGroup {
  return 'commands' in c;
}

/** Every command as typed (`feature-env up`), with its definition. */
export function allCommands(): CliCommand[] {
  return Object.values(COMMANDS).flatMap((c) => (isGroup(c) ? Object.values(c.commands) : [c]));
}

/**
 * The flags a command line may give (without the leading `--`): its inputs, its own flags, the
 * global ones. Undefined for a command that does not exist. (The CI examples' test checks their
 * command lines against this.)
 */
export function flagsOf(command: string): Set<string> | undefined {
  const c = allCommands().find((x) => x.name === command);
  if (!c) return undefined;
  return new Set([
    ...Object.keys(c.inputs),
    ...Object.keys(c.own ?? {}),
    'workspace',
    'json',
    'verbose',
    'help',
  ]);
}

/** Flags a command does not take, and which other command does (for the error message). */
export function elsewhere(command: CliCommand): Record<string, string> {
  const out: Record<string, string> = {};
  for (const other of allCommands()) {
    if (other === command) continue;
    for (const flag of [...Object.keys(other.own ?? {}), ...Object.keys(other.inputs)])
      if (!(flag in command.inputs) && !(flag in (command.own ?? {})) && !(flag in out))
        out[flag] = `c2c ${other.name}`;
  }
  return out;
}
