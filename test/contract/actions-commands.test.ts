// src/actions/commands.ts speaks the runner's protocol in place of @actions/core: checked against the
// real package, call for call, byte for byte (stdout, the GITHUB_OUTPUT file, the job summary), with
// the heredoc delimiters (a random UUID each) made equal.
import * as core from '@actions/core';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as runner from '../../src/actions/commands.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-commands-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MESSAGES = [
  'plain',
  'with % and 100%25 and : and , in it',
  'two\nlines\r\nand a CR',
  '::error::not a command',
  'ünïcödé ✓',
  '',
];
const WHERE = [
  undefined,
  { file: 'k8s/app.yaml' },
  { file: 'dir,with:odd%chars/x.yaml', startLine: 12, startColumn: 3 },
];

/** What one implementation writes for the same calls. */
async function capture(
  impl: 'core' | 'ours',
  calls: (r: typeof runner) => void | Promise<void>,
): Promise<{ stdout: string; output: string; summary: string; exitCode: typeof process.exitCode }> {
  const output = path.join(dir, `${impl}-output`);
  const summary = path.join(dir, `${impl}-summary`);
  await writeFile(output, '');
  await writeFile(summary, '');
  const saved = {
    out: process.env.GITHUB_OUTPUT,
    sum: process.env.GITHUB_STEP_SUMMARY,
    code: process.exitCode,
  };
  process.env.GITHUB_OUTPUT = output;
  process.env.GITHUB_STEP_SUMMARY = summary;
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  let exitCode: typeof process.exitCode;
  try {
    const asCore: typeof runner = {
      info: core.info,
      debug: core.debug,
      warning: (m, p) => core.warning(m, p),
      error: (m, p) => core.error(m, p),
      startGroup: core.startGroup,
      endGroup: core.endGroup,
      setSecret: core.setSecret,
      setFailed: core.setFailed,
      setOutput: core.setOutput,
      appendSummary: async (md) => void (await core.summary.addRaw(md).write()),
    };
    await calls(impl === 'core' ? asCore : runner);
    exitCode = process.exitCode;
  } finally {
    process.stdout.write = write;
    process.env.GITHUB_OUTPUT = saved.out;
    process.env.GITHUB_STEP_SUMMARY = saved.sum;
    process.exitCode = saved.code;
  }
  const sameDelimiters = (t: string) => t.replace(/ghadelimiter_[0-9a-f-]{36}/g, 'ghadelimiter_X');
  return {
    stdout,
    output: sameDelimiters(await readFile(output, 'utf8')),
    summary: await readFile(summary, 'utf8'),
    exitCode,
  };
}

describe('the runner commands, against @actions/core', () => {
  it('logging: info, debug, warnings and errors with and without a place, groups, masks', async () => {
    const calls = (r: typeof runner) => {
      for (const m of MESSAGES) {
        r.info(m);
        r.debug(m);
        r.setSecret(m || 'x');
        r.startGroup(m);
        r.endGroup();
        for (const w of WHERE) {
          r.warning(m, w);
          r.error(m, w);
        }
      }
    };
    const theirs = await capture('core', calls);
    const ours = await capture('ours', calls);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.stdout).toContain('::error file=dir%2Cwith%3Aodd%25chars/x.yaml,line=12,col=3::');
  });

  it('outputs (multi-line values included), the summary, and a failed step', async () => {
    const calls = async (r: typeof runner) => {
      r.setOutput('applied', 'Deployment/a/web\nService/a/web');
      r.setOutput('digest', 'sha256:abc');
      r.setOutput('empty', '');
      await r.appendSummary('## Deploy\n\n| a | b |\n');
      await r.appendSummary('more');
      r.setFailed("Input 'timeout': 'soon' is not a duration\nsecond line");
    };
    const theirs = await capture('core', calls);
    const ours = await capture('ours', calls);
    expect(ours).toEqual(theirs);
    expect(ours.exitCode).toBe(1);
    expect(ours.output).toContain(
      'applied<<ghadelimiter_X\nDeployment/a/web\nService/a/web\nghadelimiter_X\n',
    );
  });

  it('without GITHUB_OUTPUT, the output command on stdout', async () => {
    const calls = (r: typeof runner) => {
      delete process.env.GITHUB_OUTPUT;
      r.setOutput('result', 'a,b:c');
    };
    expect((await capture('ours', calls)).stdout).toBe((await capture('core', calls)).stdout);
  });
});
