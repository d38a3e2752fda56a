import type { ChildProcess } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { getExecOutput } from '@actions/exec';
import { C2CError, ToolMissingError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The one way the engine runs programs: an argument array, never a shell, over @actions/exec (the
 * toolkit's process layer). On top of it: the program is looked up on the PATH of the env it is
 * given, output is captured whole and can be streamed to the logger line by line, a failure is an
 * ExecError, a call can have a timeout, and what this layer prints (the command's debug line, error
 * messages) goes through the logger's masking, so a registered secret never shows.
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

/**
 * @actions/exec neither times out nor hands out the child it spawns (actions/toolkit#1777, #1656).
 * Node publishes every new ChildProcess on the `child_process` diagnostics channel; while calls are
 * running, this layer watches that channel and claims, for each call, the child with its
 * executable and arguments (the first unclaimed one: identical concurrent commands are claimed in
 * the order they started). A claimed child gets a stdin error handler (a program may exit without
 * reading its input) and, when its call times out, SIGKILL.
 */
interface Running {
  file: string;
  args: readonly string[];
  child?: ChildProcess;
  expired: boolean;
}

const running = new Set<Running>();

function claim(child: ChildProcess): void {
  for (const r of running) {
    if (r.child || child.spawnfile !== r.file) continue;
    const argv = child.spawnargs.slice(1);
    if (argv.length !== r.args.length || argv.some((a, i) => a !== r.args[i])) continue;
    r.child = child;
    child.stdin?.on('error', () => {
      /* the program exited before reading all its input */
    });
    if (r.expired) child.kill('SIGKILL');
    return;
  }
}

function onChildProcess(message: unknown): void {
  const child = (message as { process?: ChildProcess }).process;
  // Published from the constructor: spawnfile and spawnargs are set once spawn() has returned.
  if (child) process.nextTick(() => claim(child));
}

function track(r: Running): () => void {
  if (running.size === 0) diagnostics.subscribe('child_process', onChildProcess);
  running.add(r);
  return () => {
    running.delete(r);
    if (running.size === 0) diagnostics.unsubscribe('child_process', onChildProcess);
  };
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

  // The program is looked up on the PATH it will run with (@actions/exec would use this process's).
  const file = await which(cmd, env.PATH ?? '');
  if (!file) throw new ToolMissingError(cmd, opts.installHint ?? `install ${cmd}`);
  const resolved = path.resolve(opts.cwd ?? process.cwd(), file);

  const decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') };
  let stdout = '';
  let stderr = '';
  const outLines = lineSplitter((l) => logger?.info(l));
  const errLines = lineSplitter((l) => logger?.info(l));
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;

  const self: Running = { file: resolved, args: [...args], expired: false };
  const untrack = track(self);
  let timer: NodeJS.Timeout | undefined;
  let giveUp: NodeJS.Timeout | undefined;
  try {
    const run = getExecOutput(resolved, [...args], {
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      env: childEnv,
      // Our own logging: @actions/exec would echo the command line and the output to stdout.
      silent: true,
      ignoreReturnCode: true,
      // Always end stdin (an empty input included), so a program that reads it does not wait forever.
      input: Buffer.from(opts.input ?? ''),
      listeners: {
        stdout: (d: Buffer) => {
          const t = decoders.out.write(d);
          stdout += t;
          if (opts.stream) outLines.write(t);
        },
        stderr: (d: Buffer) => {
          const t = decoders.err.write(d);
          stderr += t;
          if (opts.stream) errLines.write(t);
        },
      },
    }).then(
      (r) => r.exitCode,
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (/Unable to locate executable file/.test(message))
          throw new ToolMissingError(cmd, opts.installHint ?? `install ${cmd}`);
        throw new C2CError(mask(`${shown} could not be started: ${message}`), { cause: err });
      },
    );
    const timeout = opts.timeoutMs
      ? new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => {
            self.expired = true;
            self.child?.kill('SIGKILL');
            // Killed, it ends at once; should it not (a grandchild holding its output open), stop waiting.
            giveUp = setTimeout(() => resolve('timeout'), 2_000);
          }, opts.timeoutMs);
        })
      : undefined;
    const exitCode = await (timeout ? Promise.race([run, timeout]) : run);
    stdout += decoders.out.end();
    stderr += decoders.err.end();
    if (opts.stream) {
      outLines.flush();
      errLines.flush();
    }
    const timedOut = self.expired;
    // A null exit code: ended by a signal (SIGKILL when it timed out).
    const code = timedOut ? 137 : typeof exitCode === 'number' ? exitCode : 128;
    const result: ExecResult = { code, stdout, stderr, ...(timedOut ? { timedOut } : {}) };
    if (code !== 0 && !opts.allowFailure)
      throw new ExecError(shown, result, { mask, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    return result;
  } finally {
    if (timer) clearTimeout(timer);
    if (giveUp) clearTimeout(giveUp);
    untrack();
  }
}
