import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { C2CError, ToolMissingError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The one way the engine runs programs: an argument array, never a shell, spawned with
 * node:child_process. The program is looked up on the PATH of the env it is given, output is
 * captured whole and can be streamed to the logger line by line, stdin always ends (with the input,
 * or at once), a failure is an ExecError, a call can have a timeout, and what this layer prints (the
 * command's debug line, error messages) goes through the logger's masking, so a registered secret
 * never shows.
 *
 * Not @actions/exec: its public API can neither stop a program (no timeout, no signal, the child is
 * not handed out: actions/toolkit#1777, #1656) nor survive a program that exits without reading a
 * large input (the EPIPE on the child's stdin has no listener and ends the process). Reaching the
 * child through Node's diagnostics channel, as this layer once did, is no public API either.
 */
export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Gets the command line (debug) and, with `stream`, the output; masks both, and error messages. */
  logger?: Logger;
  /** Stream stdout/stderr lines to logger.info as they come. */
  stream?: boolean;
  /** Resolve instead of reject on a non-zero exit. */
  allowFailure?: boolean;
  /** Stop the program (SIGKILL) when it runs longer; the result has timedOut set. */
  timeoutMs?: number;
  /** Hint for ToolMissingError, e.g. 'apt-get install buildah'. */
  installHint?: string;
  /**
   * The arguments as they may be shown (debug line, ExecError), when `args` hold values that must
   * not be (e.g. `--build-arg NPM_TOKEN=***`). Same meaning as args, one entry per argument.
   */
  displayArgs?: readonly string[];
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The program ran longer than timeoutMs and was stopped. */
  timedOut?: boolean;
}

export class ExecError extends C2CError {
  override name = 'ExecError';
  /** The command line as shown: displayArgs, masked. */
  readonly command: string;

  constructor(
    command: string,
    readonly result: ExecResult,
    opts: { mask?: (text: string) => string; timeoutMs?: number } = {},
  ) {
    const mask = opts.mask ?? ((t: string) => t);
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    super(
      mask(
        result.timedOut
          ? `${command} did not finish within ${opts.timeoutMs ?? '?'} ms and was stopped`
          : `${command} exited with code ${result.code}${tail ? `:\n${tail}` : ''}`,
      ),
    );
    this.command = mask(command);
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

/** A command line for people to read (debug lines, errors): arguments quoted where a shell would need it. */
export function formatCommand(cmd: string, args: readonly string[]): string {
  const quote = (a: string) =>
    a === '' || /[\s'"\\$`;&|<>()]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a;
  return [cmd, ...args].map(quote).join(' ');
}

/** Calls onLine for each complete line of what is written; flush() ends the last one. */
function lineSplitter(onLine: (line: string) => void): { write(text: string): void; flush(): void } {
  let buf = '';
  return {
    write(text) {
      buf += text;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) if (l.length) onLine(l.replace(/\r$/, ''));
    },
    flush() {
      if (buf.length) onLine(buf.replace(/\r$/, ''));
      buf = '';
    },
  };
}

/** How long to wait, once the program has exited, for its output to end (a grandchild may hold it). */
const STDIO_GRACE_MS = 10_000;
/** How long to wait, once a program that timed out was killed, before giving up on it. */
const KILL_GRACE_MS = 2_000;

export async function exec(
  cmd: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const env = opts.env ?? process.env;
  const logger = opts.logger;
  const mask = (text: string) => logger?.mask?.(text) ?? text;
  const shown = formatCommand(cmd, opts.displayArgs ?? args);
  logger?.debug(shown);

  // The program is looked up on the PATH it will run with, not on this process's.
  const file = await which(cmd, env.PATH ?? '');
  if (!file) throw new ToolMissingError(cmd, opts.installHint ?? `install ${cmd}`);
  const resolved = path.resolve(opts.cwd ?? process.cwd(), file);

  const decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') };
  let stdout = '';
  let stderr = '';
  const outLines = lineSplitter((l) => logger?.info(l));
  const errLines = lineSplitter((l) => logger?.info(l));

  const timers: NodeJS.Timeout[] = [];
  let timedOut = false;
  try {
    const ended = await new Promise<{ code: number | null } | { error: Error }>((resolve) => {
      const child = spawn(resolved, [...args], {
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.on('error', (error) => resolve({ error }));
      child.stdout.on('data', (d: Buffer) => {
        const t = decoders.out.write(d);
        stdout += t;
        if (opts.stream) outLines.write(t);
      });
      child.stderr.on('data', (d: Buffer) => {
        const t = decoders.err.write(d);
        stderr += t;
        if (opts.stream) errLines.write(t);
      });
      // A program may exit without reading all its input: the broken pipe is not an error of ours.
      child.stdin.on('error', () => undefined);
      // Always end stdin (an empty input included), so a program that reads it does not wait forever.
      child.stdin.end(opts.input ?? '');
      // 'close' comes when the program has exited and its output has ended. A grandchild that keeps
      // the output open (a daemon it started) is not waited for longer than STDIO_GRACE_MS.
      child.on('close', (code) => resolve({ code }));
      child.on('exit', (code) => {
        timers.push(
          setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
            resolve({ code });
          }, STDIO_GRACE_MS),
        );
      });
      if (opts.timeoutMs)
        timers.push(
          setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
            // Killed, it ends at once; should it not (a grandchild holding its output open), stop waiting.
            timers.push(setTimeout(() => resolve({ code: null }), KILL_GRACE_MS));
          }, opts.timeoutMs),
        );
    });
    if ('error' in ended) {
      const e = ended.error as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') throw new ToolMissingError(cmd, opts.installHint ?? `install ${cmd}`);
      throw new C2CError(mask(`${shown} could not be started: ${e.message}`), { cause: e });
    }
    stdout += decoders.out.end();
    stderr += decoders.err.end();
    if (opts.stream) {
      outLines.flush();
      errLines.flush();
    }
    // A null exit code: ended by a signal (SIGKILL when it timed out).
    const code = timedOut ? 137 : (ended.code ?? 128);
    const result: ExecResult = { code, stdout, stderr, ...(timedOut ? { timedOut } : {}) };
    if (code !== 0 && !opts.allowFailure)
      throw new ExecError(shown, result, { mask, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    return result;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}
