#!/usr/bin/env node
import { C2CError, errorMessage, closeHttpAgents } from '../core/index.js';
import { commandHelp, groupHelp, type CliCommand, type CommandResult } from './command.js';
import { COMMANDS, elsewhere, isGroup } from './commands/index.js';
import { UsageError, parseFlags, type ParsedCommandLine } from './flags.js';
import { outputLines } from './output.js';
import { progressLogger } from './progress.js';

/**
 * c2c: the same engine as the actions, outside GitHub (CodeBuild, CircleCI, a laptop). Each command
 * takes its action's inputs as flags of the same names (`--files requirements.txt --image …`; a flag
 * given twice adds a line). Exit codes: 0 success, 1 failure, 2 bad usage.
 */

function usage(): string {
  const lines = ['usage: c2c <command> [flags]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (isGroup(c)) {
      for (const [sub, s] of Object.entries(c.commands))
        lines.push(`  ${`${name} ${sub}`.padEnd(17)} ${s.summary}`);
    } else lines.push(`  ${name.padEnd(17)} ${c.summary}`);
  }
  lines.push(
    '',
    "Each command takes its action's inputs as flags of the same names: c2c <command> --help lists them.",
    'Global flags: --workspace DIR, --json (the result as JSON on stdout), --verbose.',
    'Exit codes: 0 success, 1 failure, 2 bad usage.',
  );
  return lines.join('\n');
}

const isHelp = (a: string) => a === '--help' || a === '-h';

/** Which command the arguments name, and the rest of them; or what to print and the exit code. */
function resolve(
  argv: string[],
): { command: CliCommand; args: string[]; help: boolean } | { print: string; code: number } {
  let [first, ...rest] = argv;
  let help = false;
  if (first === 'help') {
    help = true;
    [first, ...rest] = rest;
  }
  if (!first || isHelp(first)) {
    // Asked for: stdout and success; no command at all: bad usage.
    return help || (first && isHelp(first)) ? { print: usage(), code: 0 } : { print: usage(), code: 2 };
  }
  const c = COMMANDS[first];
  if (!c) return { print: `c2c: unknown command '${first}'\n${usage()}`, code: 2 };
  if (!isGroup(c)) return { command: c, args: rest, help: help || rest.some(isHelp) };
  const [sub, ...subRest] = rest;
  if (!sub || sub.startsWith('-')) {
    if (help || rest.some(isHelp)) return { print: groupHelp(c), code: 0 };
    return {
      print: `c2c ${first}: which one? ${Object.keys(c.commands).join(', ')}\n${groupHelp(c)}`,
      code: 2,
    };
  }
  const command = c.commands[sub];
  if (!command) return { print: `c2c ${first}: unknown command '${sub}'\n${groupHelp(c)}`, code: 2 };
  return { command, args: subRest, help: help || subRest.some(isHelp) };
}

function printResult(r: CommandResult, json: boolean): void {
  const { outputs = {}, text, document } = r;
  if (document !== undefined) {
    process.stdout.write(document);
    process.stderr.write(
      json ? JSON.stringify(r.json ?? outputs, null, 2) + '\n' : outputLines(outputs, { skipEmpty: true }),
    );
  } else if (json) process.stdout.write(JSON.stringify(r.json ?? outputs, null, 2) + '\n');
  else process.stdout.write(`${text ?? ''}${outputLines(outputs)}`);
}

async function main(argv: string[]): Promise<number> {
  const found = resolve(argv);
  if ('print' in found) {
    (found.code === 0 ? process.stdout : process.stderr).write(found.print + '\n');
    return found.code;
  }
  const { command } = found;
  if (found.help) {
    process.stdout.write(commandHelp(command) + '\n');
    return 0;
  }
  const usageLine = (message: string) =>
    process.stderr.write(`c2c ${command.name}: ${message} (c2c ${command.name} --help lists the flags)\n`);
  let parsed: ParsedCommandLine;
  try {
    parsed = parseFlags(found.args, {
      inputs: command.inputs,
      ...(command.own ? { own: command.own } : {}),
      ...(command.required ? { required: command.required } : {}),
      elsewhere: elsewhere(command),
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    usageLine(err.message);
    return 2;
  }
  const { g } = parsed;
  // The log goes to stderr when stdout carries a result for a program (--json, --render, a plan).
  const logger = progressLogger({
    verbose: g.verbose,
    out: g.json || parsed.own.render || command.logToStderr ? process.stderr : process.stdout,
    err: process.stderr,
  });
  // Secret inputs are masked (the kubeconfig flag is a path, not the secret content).
  for (const [k, def] of Object.entries(command.inputs))
    if (def.secret && parsed.raw[k] && k !== 'kubeconfig') logger.secret(parsed.raw[k]);
  let result: CommandResult;
  try {
    result = await command.run(parsed, logger);
  } catch (err) {
    logger.close();
    if (err instanceof UsageError) {
      usageLine(err.message);
      return 2;
    }
    // Through the logger, so a secret the engine registered never reaches the terminal.
    logger.error(err instanceof C2CError ? err.message : errorMessage(err));
    return 1;
  } finally {
    logger.close();
  }
  printResult(result, g.json);
  return result.exitCode ?? 0;
}

main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write(`c2c: error: ${err instanceof C2CError ? err.message : errorMessage(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => closeHttpAgents());
