// The process layer (src/core/exec.ts over node:child_process), run against real programs: argument
// arrays reach the program verbatim, output is captured and streamed, failures carry the tail of the
// output, and nothing it prints (debug argument lists, ExecError messages) carries a secret.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolMissingError } from '../../src/core/errors.js';
import { exec, ExecError } from '../../src/core/exec.js';
import { memoryLogger } from '../../src/core/logger.js';

let dir: string;
let bin: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-exec-'));
  bin = path.join(dir, 'bin');
  await mkdir(bin);
  // A tool only on a PATH of our own: found through opts.env.PATH, not through process.env.PATH.
  await writeFile(path.join(bin, 'c2c-only-here'), '#!/bin/sh\necho "only-here $*"\n');
  await chmod(path.join(bin, 'c2c-only-here'), 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('exec', () => {
  it('passes every argument verbatim, without a shell', async () => {
    const args = ['a b', '$(touch /tmp/c2c-never)', '"q"', '', '; echo no', '*'];
    const r = await exec('node', [
      '-e',
      'process.stdout.write(JSON.stringify(process.argv.slice(1)))',
      ...args,
    ]);
    expect(JSON.parse(r.stdout)).toEqual(args);
    expect(r.code).toBe(0);
  });

  it('captures stdout and stderr whole (multi-byte characters split across chunks included) and streams lines', async () => {
    const logger = memoryLogger();
    const script = [
      "const b = Buffer.from('grüße ✓\\n');",
      'process.stdout.write(b.subarray(0, 3));',
      'setTimeout(() => { process.stdout.write(b.subarray(3)); process.stderr.write("warn 1\\nlast without newline"); }, 20);',
    ].join('\n');
    const r = await exec('node', ['-e', script], { logger, stream: true });
    expect(r.stdout).toBe('grüße ✓\n');
    expect(r.stderr).toBe('warn 1\nlast without newline');
    const info = logger.lines.filter((l) => l.level === 'info').map((l) => l.message);
    expect(info).toEqual(expect.arrayContaining(['grüße ✓', 'warn 1', 'last without newline']));
  });

  it('gives the input on stdin, and closes stdin when there is none', async () => {
    const echo = 'process.stdin.pipe(process.stdout)';
    expect((await exec('node', ['-e', echo], { input: 'from stdin' })).stdout).toBe('from stdin');
    // Without input, a program that reads stdin sees its end at once instead of waiting forever.
    expect((await exec('node', ['-e', echo], { timeoutMs: 20_000 })).stdout).toBe('');
  });

  it('survives a program that exits without reading a large input', async () => {
    const r = await exec('true', [], { input: Buffer.alloc(4 * 1024 * 1024, 'x') });
    expect(r.code).toBe(0);
  });

  it('looks the program up on the PATH of the env it is given', async () => {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    expect((await exec('c2c-only-here', ['x'], { env })).stdout).toBe('only-here x\n');
    const missing = await exec('c2c-only-here', [], { installHint: 'run make tools' }).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(ToolMissingError);
    expect((missing as Error).message).toBe(
      "'c2c-only-here' is not installed or not on PATH: run make tools.",
    );
  });

  it('raises ExecError with the exit code and the end of the output; allowFailure resolves instead', async () => {
    const script = 'for (let i = 1; i <= 30; i++) console.error("line " + i); process.exit(3)';
    const err = await exec('node', ['-e', script]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    const e = err as ExecError;
    expect(e.result.code).toBe(3);
    expect(e.message).toMatch(/^node -e .* exited with code 3:\n/);
    expect(e.message).toContain('line 30');
    expect(e.message).not.toContain('line 15\n');
    const r = await exec('node', ['-e', script], { allowFailure: true });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')).toHaveLength(31);
  });

  it('stops a program that outlives its timeout, and leaves no process behind', async () => {
    const pidFile = path.join(dir, 'sleeper.pid');
    const t = Date.now();
    const r = await exec('sh', ['-c', `echo $$ > '${pidFile}'; exec sleep 30`], {
      timeoutMs: 500,
      allowFailure: true,
    });
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(r.timedOut).toBe(true);
    expect(r.code).toBe(137);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(alive(pid)).toBe(false);
    const err = await exec('sleep', ['30'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as Error).message).toBe('sleep 30 did not finish within 300 ms and was stopped');
  });

  it('stops the right one of several programs running at once', async () => {
    const [slow, fast] = await Promise.all([
      exec('sleep', ['30'], { timeoutMs: 400, allowFailure: true }),
      exec('sleep', ['0.1'], { timeoutMs: 20_000 }),
    ]);
    expect(slow.timedOut).toBe(true);
    expect(fast.timedOut).toBeFalsy();
    expect(fast.code).toBe(0);
  });

  it('never shows a secret in the debug argument list or in an ExecError message', async () => {
    const secret = 'tok-3f9a7c1e-never-shown';
    const logger = memoryLogger();
    logger.secret(secret);
    const script = `console.error("auth failed for " + process.argv[1]); process.exit(1)`;
    const err = await exec('node', ['-e', script, secret], { logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    const e = err as ExecError;
    expect(e.message).not.toContain(secret);
    expect(e.command).not.toContain(secret);
    expect(e.message).toContain('auth failed for ***');
    expect(e.message).toMatch(/^node -e .* \*\*\* exited with code 1/);
    // The debug line of the command (the argument list) is there, masked.
    const debug = logger.lines.filter((l) => l.level === 'debug').map((l) => l.message);
    expect(debug.some((l) => l.startsWith('node -e ') && l.endsWith(' ***'))).toBe(true);
    expect(logger.text()).not.toContain(secret);
  });

  it('shows displayArgs in place of the arguments it hides', async () => {
    const logger = memoryLogger();
    const err = await exec('sh', ['-c', 'exit 2', 'SHORT=ab'], {
      logger,
      displayArgs: ['-c', 'exit 2', 'SHORT=***'],
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe("sh -c 'exit 2' SHORT=*** exited with code 2");
    expect(logger.text()).toContain("sh -c 'exit 2' SHORT=***");
    expect(logger.text()).not.toContain('SHORT=ab');
  });
});
