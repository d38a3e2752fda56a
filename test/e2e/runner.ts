import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

/**
 * Runs a bundled action (dist/index.js) the way the GitHub runner does: inputs as INPUT_<NAME> env
 * with action.yml defaults applied, GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY files,
 * GITHUB_EVENT_PATH, then the post step (with STATE_* from main) when action.yml declares one.
 */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  state: Record<string, string>;
  post?: { code: number; stdout: string; stderr: string };
  durationMs: number;
}

export interface RunOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  workspace: string;
  event?: unknown;
  /** Skip the post step even when declared. */
  noPost?: boolean;
}

/** Parses the GITHUB_OUTPUT / GITHUB_STATE file format (name=value and name<<DELIM heredocs). */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else {
      const eq = line.indexOf('=');
      if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function execNode(
  script: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The runner runs node24 actions with its own Node 24; node_modules/.bin/node is that here.
    const node = path.join(ROOT, 'node_modules/.bin/node');
    const child = spawn(node, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function runAction(actionDir: string, opts: RunOptions): Promise<ActionRun> {
  const dir = path.join(ROOT, actionDir);
  const meta = YAML.parse(await readFile(path.join(dir, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: string; required?: boolean }>;
    runs: { using: string; main: string; post?: string };
  };
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'c2c-runner-'));
  const files = {
    output: path.join(tmp, 'output'),
    state: path.join(tmp, 'state'),
    summary: path.join(tmp, 'summary'),
    event: path.join(tmp, 'event.json'),
  };
  await Promise.all([
    writeFile(files.output, ''),
    writeFile(files.state, ''),
    writeFile(files.summary, ''),
    writeFile(files.event, JSON.stringify(opts.event ?? {})),
  ]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9/api',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    RUNNER_TEMP: tmp,
    RUNNER_OS: 'Linux',
  };
  for (const [name, def] of Object.entries(meta.inputs ?? {})) {
    if (def.default !== undefined && !/\$\{\{/.test(def.default)) env[inputEnvName(name)] = def.default;
  }
  for (const [name, value] of Object.entries(opts.inputs)) {
    if (!meta.inputs || !(name in meta.inputs))
      throw new Error(`${actionDir}/action.yml declares no input '${name}'`);
    env[inputEnvName(name)] = value;
  }
  Object.assign(env, opts.env);
  const start = performance.now();
  const main = await execNode(path.join(dir, meta.runs.main), env, opts.workspace);
  const durationMs = performance.now() - start;
  const state = parseCommandFile(await readFile(files.state, 'utf8'));
  const run: ActionRun = {
    ...main,
    outputs: parseCommandFile(await readFile(files.output, 'utf8')),
    summary: await readFile(files.summary, 'utf8'),
    state,
    durationMs,
  };
  if (meta.runs.post && !opts.noPost) {
    const postEnv = { ...env };
    for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v;
    run.post = await execNode(path.join(dir, meta.runs.post), postEnv, opts.workspace);
  }
  return run;
}
