#!/usr/bin/env node
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';
import { C2CError, InputError, errorMessage } from '../core/errors.js';
import { closeHttpAgents } from '../core/http.js';
import { withDefaults, type InputSpec } from '../core/input-spec.js';
import { consoleLogger, type Logger } from '../core/logger.js';
import { HASH_BASE_INPUTS, parseHashBaseInputs } from '../hashbase/inputs.js';
import { renderHashBaseSummary, runHashBase } from '../hashbase/run.js';
import { DEPLOY_INPUTS, parseDeployInputs } from '../deploy/inputs.js';
import { renderDeploy, runDeploy } from '../deploy/run.js';
import { exec } from '../core/exec.js';

/** The commit being deployed: GITHUB_SHA / C2C_REVISION, else git HEAD of the workspace. */
async function currentCommit(workspace: string): Promise<string | undefined> {
  const fromEnv =
    process.env.C2C_REVISION ||
    process.env.GITHUB_SHA ||
    process.env.CODEBUILD_RESOLVED_SOURCE_VERSION ||
    process.env.CIRCLE_SHA1;
  if (fromEnv) return fromEnv;
  const r = await exec('git', ['rev-parse', 'HEAD'], { cwd: workspace, allowFailure: true }).catch(
    () => undefined,
  );
  return r && r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * c2c: the same engine as the actions, outside GitHub (CodeBuild, CircleCI, a laptop). Each command
 * takes the action's inputs as flags of the same names: `--files requirements.txt --image …`.
 * A flag given twice adds a line (for list inputs).
 */
interface Command {
  summary: string;
  inputs: InputSpec;
  run(
    raw: Record<string, string>,
    g: GlobalFlags,
    logger: Logger,
  ): Promise<{ outputs: Record<string, string>; summary?: string; exitCode?: number; document?: string }>;
}

interface GlobalFlags {
  workspace: string;
  json: boolean;
  verbose: boolean;
  /** deploy: print the final YAML of what would be applied, contact no cluster. */
  render: boolean;
}

const commands: Record<string, Command> = {
  'hash-base': {
    summary: 'Hash the dependency files; build and push the base image only when no image has that hash yet.',
    inputs: HASH_BASE_INPUTS,
    async run(raw, g, logger) {
      const opts = parseHashBaseInputs(withDefaults(HASH_BASE_INPUTS, raw, 'flag'), g.workspace);
      const r = await runHashBase(opts, {
        logger,
        manifestDir: process.env.RUNNER_TEMP || os.tmpdir(),
        ...(process.env.C2C_REVISION ? { revision: process.env.C2C_REVISION } : {}),
        ...(process.env.C2C_SOURCE ? { source: process.env.C2C_SOURCE } : {}),
      });
      return {
        outputs: {
          hash: r.hash,
          tag: r.tag,
          'image-ref': r.imageRef,
          'needs-build': String(r.needsBuild),
          built: String(r.built),
          digest: r.digest,
          'files-count': String(r.filesCount),
          changed: r.changed.join('\n'),
          'manifest-path': r.manifestPath,
        },
        summary: renderHashBaseSummary(r),
      };
    },
  },
  deploy: {
    summary:
      'Build and push the app image, pin manifests to digests, apply, watch the rollout, roll back on failure.',
    inputs: DEPLOY_INPUTS,
    async run(raw, g, logger) {
      useKubeconfigFile(raw);
      const sha = await currentCommit(g.workspace);
      const opts = parseDeployInputs(withDefaults(DEPLOY_INPUTS, raw, 'flag'), g.workspace, {
        ...(sha ? { sha } : {}),
        ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}),
      });
      if (opts.environment)
        throw new C2CError(
          '--environment records a GitHub Deployment, which only the action does; leave it out here',
        );
      const actor = process.env.C2C_ACTOR || process.env.USER;
      const ctx = {
        logger,
        ...(sha ? { audit: { commit: sha, ...(actor ? { actor } : {}) }, revision: sha } : {}),
        ...(process.env.C2C_SOURCE ? { source: process.env.C2C_SOURCE } : {}),
      };
      if (g.render) {
        // Everything that needs no cluster; the YAML of exactly what would be applied goes to stdout.
        const rendered = await renderDeploy(opts, ctx);
        const outputs: Record<string, string> = { image: rendered.image, digest: rendered.digest };
        return { outputs, document: rendered.yaml };
      }
      const r = await runDeploy(opts, ctx);
      if (r.failure) logger.error(r.failure);
      return {
        outputs: {
          image: r.image,
          digest: r.digest,
          applied: r.applied.join('\n'),
          'rolled-back': String(r.rolledBack),
          'deployment-id': r.deploymentId,
          result: r.result,
        },
        summary: r.summary,
        ...(r.failure ? { exitCode: 1 } : {}),
      };
    },
  },
};

/**
 * `--kubeconfig PATH`: a file, as for kubectl (relative to the current directory, `~` expanded; the
 * action's input of the same name is the content). It stands for $KUBECONFIG, which the engine reads
 * when no other cluster is given, so the files a kubeconfig names are found next to it.
 */
function useKubeconfigFile(raw: Record<string, string>): void {
  const given = raw.kubeconfig;
  delete raw.kubeconfig;
  if (given === undefined) return;
  const expected = 'the path of a kubeconfig file, as for kubectl --kubeconfig';
  if (given.includes('\n')) throw new InputError('kubeconfig', 'is given more than once', expected);
  if (raw['cluster-name']?.trim())
    throw new InputError(
      'kubeconfig',
      "and 'cluster-name' are both set",
      'one of them: a kubeconfig file, or an EKS cluster name with aws-region',
    );
  const home = process.env.HOME || os.homedir();
  const file = path.resolve(
    given === '~' ? home : given.startsWith('~/') ? path.join(home, given.slice(2)) : given,
  );
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new InputError('kubeconfig', `'${given}' is not a file (looked for ${file})`, expected);
  process.env.KUBECONFIG = file;
}

/** How a flag reads in --help where it differs from the action's input. */
const FLAG_HELP: Record<string, { value: string; description: string }> = {
  kubeconfig: {
    value: 'PATH',
    description:
      'Path of a kubeconfig file, as for kubectl (relative to the current directory, ~ expanded). Else `--cluster-name` + `--aws-region` (EKS), else `$KUBECONFIG` or `~/.kube/config`.',
  },
};

function usage(): string {
  const lines = [
    'usage: c2c <command> [--input value ...] [--workspace DIR] [--json] [--verbose] [--render]',
    '',
    'commands:',
  ];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', "Each command takes its action's inputs as flags: c2c <command> --help lists them.");
  return lines.join('\n');
}

function commandHelp(name: string, c: Command): string {
  const lines = [
    `usage: c2c ${name} [flags]`,
    '',
    c.summary,
    '',
    'flags (the inputs of the action, same names and defaults):',
  ];
  for (const [flag, def] of Object.entries(c.inputs)) {
    const cli = name === 'deploy' ? FLAG_HELP[flag] : undefined;
    const d = def.required ? ' (required)' : def.default ? ` (default: ${def.default})` : '';
    lines.push(
      `  --${flag}${cli ? ` ${cli.value}` : ''}${d}`,
      `      ${cli?.description ?? def.description}`,
    );
  }
  lines.push('  --workspace DIR   the directory inputs are relative to (default: the current directory)');
  lines.push('  --json            print the outputs as one JSON object');
  lines.push('  --verbose         print debug lines too (the commands run, among others)');
  if (name === 'deploy')
    lines.push(
      '  --render          contact no cluster: read the manifests, substitute images, build and push (with',
      '                    --build-context), pin digests, annotate, and print the YAML that would be applied',
    );
  return lines.join('\n');
}

/** Bad usage of the command line (an unknown flag, a missing value): exit code 2. */
export class UsageError extends C2CError {
  override name = 'UsageError';
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
 * The flags of a command with node:util parseArgs: each input of the action as a string flag
 * (`--name value` or `--name=value`; given twice, a second line), and --workspace, --json,
 * --verbose, and --render (deploy only). Anything else is a UsageError.
 */
export function parseCommandLine(
  name: string,
  argv: string[],
  spec: InputSpec,
): { raw: Record<string, string>; g: GlobalFlags } {
  const options: NonNullable<ParseArgsConfig['options']> = {
    workspace: { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    render: { type: 'boolean' },
  };
  for (const flag of Object.keys(spec)) options[flag] = { type: 'string', multiple: true };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseNodeArgs({ args: argv, options, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (err) {
    throw new UsageError(usageProblem(err));
  }
  if (values.render !== undefined && name !== 'deploy')
    throw new UsageError(`--render is a flag of 'c2c deploy', not of 'c2c ${name}'`);
  const g: GlobalFlags = {
    workspace: path.resolve(typeof values.workspace === 'string' ? values.workspace : process.cwd()),
    json: values.json === true,
    verbose: values.verbose === true,
    render: values.render === true,
  };
  const raw: Record<string, string> = {};
  for (const flag of Object.keys(spec)) {
    const v = values[flag];
    if (Array.isArray(v)) raw[flag] = v.join('\n');
  }
  return { raw, g };
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const askedHelp = first === '--help' || first === '-h' || first === 'help';
  const name = first === 'help' ? rest[0] : askedHelp ? undefined : first;
  if (!first || (askedHelp && !name)) {
    // Asked for: stdout and success; no command at all: bad usage.
    (first ? process.stdout : process.stderr).write(usage() + '\n');
    return first ? 0 : 2;
  }
  const cmd = name ? commands[name] : undefined;
  if (!name || !cmd) {
    process.stderr.write(`c2c: unknown command '${name ?? ''}'\n${usage()}\n`);
    return 2;
  }
  if (first === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(name, cmd) + '\n');
    return 0;
  }
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(name, rest, cmd.inputs);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`c2c ${name}: ${err.message} (c2c ${name} --help lists the flags)\n`);
    return 2;
  }
  const { raw, g } = parsed;
  // Human output goes to stderr with --json or --render, so stdout stays machine-readable.
  const logger = consoleLogger({
    verbose: g.verbose,
    ...(g.json || g.render ? { out: process.stderr } : {}),
  });
  // Secret inputs are masked (the kubeconfig flag is a path, not the secret content).
  for (const [k, def] of Object.entries(cmd.inputs))
    if (def.secret && raw[k] && k !== 'kubeconfig') logger.secret(raw[k]);
  let ran: Awaited<ReturnType<Command['run']>>;
  try {
    ran = await cmd.run(raw, g, logger);
  } catch (err) {
    // Through the logger, so a secret the engine registered never reaches the terminal.
    logger.error(err instanceof C2CError ? err.message : errorMessage(err));
    return 1;
  }
  const { outputs, summary, exitCode, document } = ran;
  if (document !== undefined) {
    process.stdout.write(document);
    if (g.json) process.stderr.write(JSON.stringify(outputs, null, 2) + '\n');
    else for (const [k, v] of Object.entries(outputs)) if (v) process.stderr.write(`${k}=${v}\n`);
  } else if (g.json) process.stdout.write(JSON.stringify(outputs, null, 2) + '\n');
  else {
    if (summary) process.stdout.write(`\n${summary}\n`);
    for (const [k, v] of Object.entries(outputs))
      process.stdout.write(`${k}=${v.includes('\n') ? JSON.stringify(v) : v}\n`);
  }
  return exitCode ?? 0;
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
