import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { _hashFilesWithTuning, hashFiles } from '../../src/fingerprint/index.js';
import { haveTools } from '../helpers/tools.js';
import { makeTree, tempDir, type Spec } from '../fixtures/fingerprint/tree.js';

/**
 * The hash values themselves, pinned: users key images and caches on them, so a faster engine must
 * give the same values as the one that made these (content and git modes share the framing).
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const tree = (spec: Spec) => {
  const d = tempDir('c2c-hashpin-');
  dirs.push(d);
  return makeTree(d, spec);
};

// Names whose byte order differs from the walk's order (a-c before a/b) and from UTF-16 order
// (U+1F600, a surrogate pair in UTF-16, after U+FF5E), an executable file, a symlink.
const ascii: Spec = {
  'a/b.txt': 'b\n',
  'a-c.txt': 'a-c\n',
  'A.txt': 'upper\n',
  'requirements.txt': 'flask==3.0.4\n',
  'bin/build.sh': { content: '#!/bin/sh\necho build\n', exec: true },
  'link-to-a': { symlink: 'A.txt' },
};
const unicode: Spec = {
  ...ascii,
  'é.txt': 'e-acute\n',
  '\u{ff5e}.txt': 'fullwidth tilde\n',
  '\u{1F600}.txt': 'grin\n',
  'dir \u{1F600}/x.txt': 'x\n',
};

describe('pinned hash values', () => {
  it.each([
    ['ascii names', ascii, [], 'e55634cdb4c38213f951c48b275ecc0868354a666e07aee47f3de85400316f06'],
    [
      'unicode names, with extra strings',
      unicode,
      ['salt', 'ü'],
      '319648c42d74c415571a17711e9577aa5b77b6101b4c0b8616daa9c932cb3807',
    ],
  ] as const)('content mode: %s', async (_what, spec, extra, expected) => {
    const ws = tree(spec);
    const opts = { workspace: ws, patterns: ['**'], mode: 'content' as const, extra: [...extra] };
    expect((await hashFiles(opts)).hash).toBe(expected);
    // The same on the calling thread and in worker threads.
    expect((await _hashFilesWithTuning(opts, { workers: 0 })).hash).toBe(expected);
    expect((await _hashFilesWithTuning(opts, { workers: 2, threshold: 1, batch: 2 })).hash).toBe(expected);
  });

  it.skipIf(!haveTools('git'))('git mode', async () => {
    const ws = tree(unicode);
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: '/nonexistent',
    };
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'pin'],
    ])
      execFileSync('git', args, { cwd: ws, env });
    expect((await hashFiles({ workspace: ws, patterns: ['**'], mode: 'git', extra: ['salt'] })).hash).toBe(
      'abfdab48b0f6525aecae5e9ad10ba301fa551d319665d8d4fb96af8d1ad3a8b4',
    );
  });
});
