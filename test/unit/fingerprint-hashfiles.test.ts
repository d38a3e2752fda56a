import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { _hashFilesWithTuning, hashFiles } from '../../src/fingerprint/index.js';
import { githubHashFiles } from '../fixtures/fingerprint/github-hashfiles.js';
import { makeTree, prng, tempDir, type Spec } from '../fixtures/fingerprint/tree.js';

const root = tempDir('c2c-hashfiles-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const NAMES = ['a', 'b', 'B', 'deps', 'src', '.hidden', '.github', 'x y', 'ü', '-dash', 'lib'];
const EXTS = ['.txt', '.json', '.lock', '', '.py', '.md'];

/** A random tree: nested directories, hidden entries, symlinks to files and to directories. */
function randomTree(seed: number): { spec: Spec; dirs: string[]; files: string[] } {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const dirs = [''];
  for (let i = 0, n = 2 + Math.floor(rnd() * 6); i < n; i++) {
    const parent = pick(dirs);
    const d = path.posix.join(parent, pick(NAMES));
    if (!dirs.includes(d) && d.split('/').length < 5) dirs.push(d);
  }
  const spec: Spec = {};
  const files: string[] = [];
  for (let i = 0, n = 3 + Math.floor(rnd() * 14); i < n; i++) {
    const f = path.posix.join(pick(dirs), pick(NAMES) + pick(EXTS));
    if (dirs.includes(f) || dirs.some((d) => d.startsWith(f + '/')) || spec[f] !== undefined) continue;
    spec[f] = rnd() < 0.2 ? '' : `content ${seed} ${i} ${'z'.repeat(Math.floor(rnd() * 3000))}`;
    files.push(f);
  }
  // Symlinks: to a file (read through by the runner), to a directory (skipped), to '.' (a cycle).
  const taken = (p: string) =>
    spec[p] !== undefined || dirs.includes(p) || dirs.some((d) => d.startsWith(p + '/'));
  if (files.length && rnd() < 0.7) {
    const target = pick(files);
    const link = path.posix.join(path.posix.dirname(target), 'link-to-file');
    if (!taken(link)) spec[link] = { symlink: path.posix.basename(target) };
  }
  const existing = [...new Set(files.map((f) => path.posix.dirname(f)))].filter((d) => d !== '.');
  if (existing.length && rnd() < 0.7) {
    const target = pick(existing);
    const link = 'link-to-dir';
    if (!taken(link)) spec[link] = { symlink: target };
  }
  if (rnd() < 0.3 && !taken('self')) spec['self'] = { symlink: '.' };
  return { spec, dirs, files };
}

function randomPatterns(rnd: () => number, dirs: string[], files: string[]): string[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const gens: (() => string)[] = [
    () => '**',
    () => '**/*.txt',
    () => '**/*',
    () => '*',
    () => `**/${pick(NAMES)}${pick(EXTS)}`,
    () => pick(dirs.slice(1).concat(['src'])), // a directory brings its content
    () => `${pick(dirs.slice(1).concat(['deps']))}/`, // directories only, with content
    () => `${pick(dirs.slice(1).concat(['a']))}/**`,
    () => `${pick(dirs.slice(1).concat(['a']))}/*`,
    () => pick(files.concat(['missing.txt'])),
    () => '**/.*',
    () => '.hidden',
    () => '[ab]*',
    () => '**/?.json',
    () => 'link-to-dir/**',
    () => 'link-to-file',
    () => 'link-to-dir',
    () => 'self/**',
    () => `./${pick(files.concat(['x']))}`,
    () => `**/${pick(NAMES)}/**`,
  ];
  const out: string[] = [];
  for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) {
    const p = pick(gens)();
    out.push(i > 0 && rnd() < 0.35 ? `!${p}` : p);
  }
  if (rnd() < 0.2) out.push(`!${pick(gens)()}`);
  return out;
}

describe("hashfiles mode equals GitHub's hashFiles()", () => {
  it('on generated trees and pattern sets (seeded; a failure names its seed)', async () => {
    let compared = 0;
    let nonEmpty = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const { spec, dirs, files } = randomTree(seed);
      const ws = makeTree(path.join(root, `t${seed}`), spec, { reverse: seed % 2 === 0 });
      const rnd = prng(seed * 7919);
      for (let k = 0; k < 6; k++) {
        const patterns = randomPatterns(rnd, dirs, files);
        const expected = await githubHashFiles(ws, patterns.join('\n'));
        const ours = await _hashFilesWithTuning(
          { workspace: ws, patterns, mode: 'hashfiles', allowEmpty: true },
          // Exercise the worker pool on some of the cases too.
          k === 0 ? { workers: 2, threshold: 1, batch: 2 } : {},
        );
        const what = `seed ${seed}, patterns ${JSON.stringify(patterns)}`;
        expect(
          ours.files.map((f) => f.path),
          what,
        ).toEqual(expected.files);
        expect(ours.hash, what).toBe(expected.hash);
        compared++;
        if (expected.hash) nonEmpty++;
      }
    }
    expect(compared).toBe(360);
    expect(nonEmpty).toBeGreaterThan(200);
  });

  it('keeps the walk order of the patterns (search paths in pattern order, not sorted)', async () => {
    const ws = makeTree(path.join(root, 'order'), { 'a/1.txt': '1', 'b/2.txt': '2' });
    const ba = await hashFiles({ workspace: ws, patterns: ['b/**', 'a/**'], mode: 'hashfiles' });
    const ab = await hashFiles({ workspace: ws, patterns: ['a/**', 'b/**'], mode: 'hashfiles' });
    expect(ba.files.map((f) => f.path)).toEqual(['b/2.txt', 'a/1.txt']);
    expect(ba.hash).not.toBe(ab.hash);
    expect(ba.hash).toBe((await githubHashFiles(ws, 'b/**\na/**')).hash);
    // content mode does not care about pattern order.
    expect((await hashFiles({ workspace: ws, patterns: ['b/**', 'a/**'], mode: 'content' })).hash).toBe(
      (await hashFiles({ workspace: ws, patterns: ['a/**', 'b/**'], mode: 'content' })).hash,
    );
  });

  it('fails on a broken symlink, naming it, where the runner fails too', async () => {
    const ws = makeTree(path.join(root, 'broken'), { 'a.txt': 'a', dangling: { symlink: 'gone.txt' } });
    await expect(githubHashFiles(ws, '**')).rejects.toThrow(/ENOENT/);
    const err = await hashFiles({ workspace: ws, patterns: ['**'], mode: 'hashfiles' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain("broken symlink 'dangling' -> 'gone.txt'");
  });

  it('gives the same set of paths as content mode, except what the runner drops (symlinks to directories)', async () => {
    const ws = makeTree(path.join(root, 'sets'), {
      'x/a.txt': 'a',
      'x/.b': 'b',
      'x/l': { symlink: 'a.txt' },
      dl: { symlink: 'x' },
    });
    const hf = await hashFiles({ workspace: ws, patterns: ['**'], mode: 'hashfiles' });
    const ct = await hashFiles({ workspace: ws, patterns: ['**'], mode: 'content' });
    expect(hf.files.map((f) => f.path)).toEqual(['x/.b', 'x/a.txt', 'x/l']);
    expect(ct.files.map((f) => f.path)).toEqual(['dl', 'x/.b', 'x/a.txt', 'x/l']);
    // hashfiles reads through the file link; content hashes the link text.
    expect(hf.files[2]!.digest).toBe(hf.files[1]!.digest);
    expect(ct.files[3]!.digest).not.toBe(ct.files[2]!.digest);
  });
});
