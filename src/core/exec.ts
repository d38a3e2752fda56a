import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { C2CError, ToolMissingError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The one way the engine runs programs: an argument array, never a shell. Output can be streamed to
 * the logger line by line (the logger masks secrets).
 */
export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  logger?: Logger;
  /** Stream stdout/stderr lines to logger.info as they come. */
  stream?: boolean;
  /** Resolve instead of reject on a non-zero exit. */
  allowFailure?: boolean;
  timeoutMs?: number;
  /** Hint for ToolMissingError, e.g. 'apt-get install buildah'. */
  installHint?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class ExecError extends C2CError {
  override name = 'ExecError';
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    super(`${command} exited with code ${result.code}${tail ? `:\n${tail}` : ''}`);
  }
}

export async function which(cmd: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  if (cmd.includes('/')) {
    try {
      await access(cmd, constants.X_OK);
      return cmd;
    } catch {
      return null;
    }
  }
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    const lineStreamer = () => {
      let buf = '';
      return (chunk: string, flush = false) => {
        buf += chunk;
        const parts = buf.split('\n');
        buf = flush ? '' : (parts.pop() ?? '');
        for (const l of parts) if (l.length) opts.logger?.info(l);
      };
    };
    const outLines = lineStreamer();
    const errLines = lineStreamer();
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (opts.stream) outLines(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (opts.stream) errLines(d);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (err.code === 'ENOENT') reject(new ToolMissingError(cmd, opts.installHint ?? `install ${cmd}`));
      else reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (opts.stream) {
        outLines('', true);
        errLines('', true);
      }
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !opts.allowFailure) reject(new ExecError([cmd, ...args].join(' '), result));
      else resolve(result);
    });
    child.stdin.on('error', () => {
      /* the child may exit before reading its input */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
