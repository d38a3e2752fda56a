#!/usr/bin/env node
import os from 'node:os';
import path from 'node:path';
import { C2CError, errorMessage } from '../core/errors.js';
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
    const d = def.required ? ' (required)' : def.default ? ` (default: ${def.default})` : '';
    lines.push(`  --${flag}${d}`, `      ${def.description}`);
  }
  lines.push('  --workspace DIR   the directory inputs are relative to (default: the current directory)');
  lines.push('  --json            print the outputs as one JSON object');
  if (name === 'deploy')
    lines.push(
      '  --render          contact no cluster: read the manifests, substitute images, build and push (with',
      '                    --build-context), pin digests, annotate, and print the YAML that would be applied',
    );
  return lines.join('\n');
}

export function parseArgs(
  argv: string[],
  spec: InputSpec,
): { raw: Record<string, string>; g: GlobalFlags; help: boolean } {
  const raw: Record<string, string> = {};
  const g: GlobalFlags = { workspace: process.cwd(), json: false, verbose: false, render: false };
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--json') g.json = true;
    else if (arg === '--verbose') g.verbose = true;
    else if (arg === '--render') g.render = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      let value: string;
      if (eq > 0) value = arg.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw new C2CError(`flag --${name} needs a value`);
        value = argv[++i]!;
      }
      if (name === 'workspace') g.workspace = path.resolve(value);
      else if (!(name in spec))
        throw new C2CError(
          `unknown flag --${name}; known: ${Object.keys(spec)
            .map((k) => `--${k}`)
            .join(', ')}`,
        );
      else raw[name] = raw[name] !== undefined ? `${raw[name]}\n${value}` : value;
    } else throw new C2CError(`unexpected argument '${arg}'; flags are --name value`);
  }
  return { raw, g, help };
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`c2c: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  const { raw, g, help } = parseArgs(rest, cmd.inputs);
  if (help) {
    process.stdout.write(commandHelp(name, cmd) + '\n');
    return 0;
  }
  if (g.render && name !== 'deploy')
    throw new C2CError(`--render is a flag of 'c2c deploy', not of '${name}'`);
  // Human output goes to stderr with --json or --render, so stdout stays machine-readable.
  const logger = consoleLogger({
    verbose: g.verbose,
    ...(g.json || g.render ? { out: process.stderr } : {}),
  });
  for (const [k, def] of Object.entries(cmd.inputs)) if (def.secret && raw[k]) logger.secret(raw[k]);
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
