import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { goTool } from './go-tool.js';

/**
 * nektos/act, the workflow runner the example workflows run on, in host mode (no Docker: each step
 * runs on this machine). Built once per machine by scripts/ensure-act.sh from the Go module proxy into
 * ${XDG_CACHE_HOME:-~/.cache}/commit-to-cloud/act-<version>/bin (the script is the one place that
 * knows the version). runAct() runs one workflow file for one event and reads act's JSON log: each
 * job's result, each step's outputs, each step's job summary, and the log lines.
 */
const act = goTool('act', 'The example-workflow tests');
export const ACT_INSTALL = `${act.install} (go install github.com/nektos/act)`;

/** Where ensure-act.sh puts act. */
export const actPath = act.path;

/** Whether act is there, or Go is there to build it (the first test then builds it, about 80 s). */
export const haveAct = act.have;

/** Builds act when it is missing (says what and why on stderr); returns its path. */
export const ensureAct = act.ensure;

export interface ActOptions {
  act: string;
  /** The repository act runs in (a git work tree; act copies it into the job's workspace). */
  repo: string;
  /** The workflow file, relative to repo. */
  workflow: string;
  event: string;
  payload: unknown;
  /** Run only this job (-j). */
  job?: string;
  /** --local-repository owner/repo@ref=dir */
  localRepositories: Record<string, string>;
  /** --env (the GitHub variables act lets a run override, e.g. GITHUB_API_URL). */
  env: Record<string, string>;
  secrets: Record<string, string>;
  /** The environment of the act process itself; in host mode the steps inherit it. */
  processEnv: Record<string, string>;
  /** Where act keeps its action copies and each job's workspace. */
  cacheDir: string;
  timeoutMs?: number;
}

export interface ActStep {
  job: string;
  step: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface ActRun {
  code: number;
  /** jobID → success | failure (jobs that did not run are absent). */
  jobs: Record<string, string>;
  /** jobID → stepID → the outputs the step set. */
  outputs: Record<string, Record<string, Record<string, string>>>;
  /** jobID → stepID → the job summary the step wrote. */
  summaries: Record<string, Record<string, string>>;
  /** jobID → every log line of the job (act's messages and the steps' output). */
  logs: Record<string, string>;
  /** act's whole output, for a failure message. */
  raw: string;
  durationMs: number;
}

interface ActLine {
  msg?: string;
  jobID?: string;
  stepID?: string[];
  command?: string;
  name?: string;
  arg?: string;
  content?: string;
  jobResult?: string;
}

/** Runs `act <event>` for one workflow in host mode and reads its JSON log. */
export async function runAct(o: ActOptions): Promise<ActRun> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'c2c-act-event-'));
  const eventFile = path.join(tmp, 'event.json');
  await writeFile(eventFile, JSON.stringify(o.payload));
  const args = [
    o.event,
    '--workflows',
    o.workflow,
    '--directory',
    o.repo,
    '--eventpath',
    eventFile,
    // Host mode: the steps run here, with this machine's tools (buildah, the registry, kubectl).
    '--platform',
    'ubuntu-latest=-self-hosted',
    '--action-cache-path',
    o.cacheDir,
    '--no-cache-server',
    // Neither .env, .secrets, .vars nor .input of the repository, nor the user's ~/.actrc: only what is given here.
    '--env-file',
    '/dev/null',
    '--secret-file',
    '/dev/null',
    '--var-file',
    '/dev/null',
    '--input-file',
    '/dev/null',
    '--json',
    ...(o.job ? ['--job', o.job] : []),
    ...Object.entries(o.localRepositories).flatMap(([k, v]) => ['--local-repository', `${k}=${v}`]),
    ...Object.entries(o.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...Object.entries(o.secrets).flatMap(([k, v]) => ['--secret', `${k}=${v}`]),
  ];
  const start = performance.now();
  try {
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve, reject) => {
      const child = spawn(o.act, args, {
        cwd: o.repo,
        env: o.processEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs ?? 300_000);
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c ?? 1, out });
      });
    });
    const run: ActRun = {
      code,
      jobs: {},
      outputs: {},
      summaries: {},
      logs: {},
      raw: out,
      durationMs: performance.now() - start,
    };
    for (const line of out.split('\n')) {
      let l: ActLine;
      try {
        l = JSON.parse(line) as ActLine;
      } catch {
        continue;
      }
      const job = l.jobID;
      if (!job) continue;
      run.logs[job] = (run.logs[job] ?? '') + (l.msg ?? '').replace(/\n$/, '') + '\n';
      if (l.jobResult) run.jobs[job] = l.jobResult;
      const step = l.stepID?.[0] ?? '';
      if (l.command === 'set-output' && l.name !== undefined) {
        const steps = (run.outputs[job] ??= {});
        (steps[step] ??= {})[l.name] = l.arg ?? '';
      }
      if (l.command === 'summary' && l.content !== undefined) {
        const steps = (run.summaries[job] ??= {});
        steps[step] = (steps[step] ?? '') + l.content;
      }
    }
    return run;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
