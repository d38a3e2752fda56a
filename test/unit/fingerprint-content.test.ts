import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { _hashFilesWithTuning, hashFiles, type HashOptions } from '../../src/fingerprint/index.js';
import { makeTree, tempDir, type Spec } from '../fixtures/fingerprint/tree.js';

const dirs: string[] = [];
const tmp = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) {
    spawnSync('chmod', ['-R', 'u+rwx', d]);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

const base: Spec = {
  'requirements.txt': 'flask==3.0\nrequests==2.32\n',
  'Dockerfile.base': 'FROM python:3.12\nRUN pip install -r requirements.txt\n',
  'scripts/build.sh': { content: '#!/bin/sh\necho build\n', exec: true },
  'deps/a/package-lock.json': '{"lockfileVersion":3}\n',
  'deps/b/yarn.lock': '# yarn\n',
  '.hidden/config': 'x=1\n',
};
const patterns = ['requirements.txt', 'Dockerfile.base', 'scripts/**', 'deps/', '.hidden/*'];

async function content(ws: string, extra?: string[], pats = patterns) {
  return hashFiles({ workspace: ws, patterns: pats, mode: 'content', ...(extra ? { extra } : {}) });
}

/** The one InputError a call gives; fails the test when it gives none or another error. */
async function inputError(p: Promise<unknown>): Promise<InputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

describe('content mode', () => {
  it('gives the same hash from two checkouts at different paths, created in different orders, with different mtimes', async () => {
    const a = makeTree(path.join(tmp(), 'one'), base);
    const b = makeTree(path.join(tmp(), 'deeper', 'two'), base, { reverse: true });
    fs.utimesSync(path.join(b, 'requirements.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const ra = await content(a);
    const rb = await content(b);
    expect(ra.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rb.hash).toBe(ra.hash);
    expect(ra.files.map((f) => f.path)).toEqual([
      '.hidden/config',
      'Dockerfile.base',
      'deps/a/package-lock.json',
      'deps/b/yarn.lock',
      'requirements.txt',
      'scripts/build.sh',
    ]);
    const sh = ra.files.find((f) => f.path === 'scripts/build.sh')!;
    expect(sh.executable).toBe(true);
    expect(sh.digest).toBe(crypto.createHash('sha256').update('#!/bin/sh\necho build\n').digest('hex'));
    // Hashing the same checkout twice, and reordering the patterns, changes nothing.
    expect((await content(a, undefined, [...patterns].reverse())).hash).toBe(ra.hash);
  });

  it('changes with any changed byte, a rename, an executable bit, a new matched file and the extra strings', async () => {
    const ws = makeTree(tmp(), base);
    const h0 = (await content(ws)).hash;
    const seen = new Set([h0]);
    const expectNew = async (what: string, extra?: string[]) => {
      const h = (await content(ws, extra)).hash;
      expect(seen.has(h), what).toBe(false);
      seen.add(h);
      return h;
    };
    // One byte flipped, then restored: back to the original hash.
    const lock = path.join(ws, 'deps/a/package-lock.json');
    const original = fs.readFileSync(lock);
    const flipped = Buffer.from(original);
    flipped[5] = flipped[5]! ^ 1;
    fs.writeFileSync(lock, flipped);
    await expectNew('byte flip');
    fs.writeFileSync(lock, original);
    expect((await content(ws)).hash).toBe(h0);

    fs.renameSync(path.join(ws, 'deps/b/yarn.lock'), path.join(ws, 'deps/b/yarn2.lock'));
    await expectNew('rename');
    fs.renameSync(path.join(ws, 'deps/b/yarn2.lock'), path.join(ws, 'deps/b/yarn.lock'));
    expect((await content(ws)).hash).toBe(h0);

    fs.chmodSync(path.join(ws, 'requirements.txt'), 0o755);
    await expectNew('executable bit');
    fs.chmodSync(path.join(ws, 'requirements.txt'), 0o644);
    expect((await content(ws)).hash).toBe(h0);

    fs.writeFileSync(path.join(ws, 'deps/new.txt'), '');
    await expectNew('new file');
    fs.rmSync(path.join(ws, 'deps/new.txt'));

    await expectNew('extra', ['linux/amd64']);
    await expectNew('other extra', ['linux/arm64']);
    await expectNew('two extras', ['linux/amd64', 'salt']);
    // Framing: the split between extra strings counts.
    await expectNew('joined extras', ['linux/amd64salt']);
    // A file's content cannot be confused with the path of the next one.
    expect(seen.size).toBe(9);
  });

  it('handles awkward names: spaces, unicode, leading dashes, newlines, and sorts in UTF-8 byte order', async () => {
    const spec: Spec = {
      'with space.txt': '1',
      'ünïcødé/fïlé.txt': '2',
      '-rf': '3',
      '--help': '4',
      'new\nline.txt': '5',
      '\uff5e.txt': '6', // U+FF5E sorts after U+1F600 in UTF-16 code units, before it in UTF-8 bytes
      '\u{1F600}.txt': '7',
    };
    const a = makeTree(path.join(tmp(), 'a'), spec);
    const b = makeTree(path.join(tmp(), 'b'), spec, { reverse: true });
    const ra = await hashFiles({ workspace: a, patterns: ['**'], mode: 'content' });
    expect((await hashFiles({ workspace: b, patterns: ['**'], mode: 'content' })).hash).toBe(ra.hash);
    expect(ra.files.map((f) => f.path)).toEqual([
      '--help',
      '-rf',
      'new\nline.txt',
      'with space.txt',
      'ünïcødé/fïlé.txt',
      '\uff5e.txt',
      '\u{1F600}.txt',
    ]);
    // Each awkward name can be matched on its own, and renaming across the newline changes the hash.
    expect((await hashFiles({ workspace: a, patterns: ['-rf'], mode: 'content' })).files).toHaveLength(1);
    expect(
      (await hashFiles({ workspace: a, patterns: ['with space.txt'], mode: 'content' })).files,
    ).toHaveLength(1);
    fs.renameSync(path.join(b, 'new\nline.txt'), path.join(b, 'newl\nine.txt'));
    expect((await hashFiles({ workspace: b, patterns: ['**'], mode: 'content' })).hash).not.toBe(ra.hash);
  });

  it('hashes symlinks as links (their text), never following them, and names a broken one', async () => {
    const outside = makeTree(tmp(), { 'secret.txt': 'outside' });
    const ws = makeTree(tmp(), {
      'real.txt': 'real',
      'inside-link': { symlink: 'real.txt' },
      'outside-link': { symlink: path.join(outside, 'secret.txt') },
      'dir/x.txt': 'x',
      'dir-link': { symlink: 'dir' },
    });
    const r = await hashFiles({ workspace: ws, patterns: ['**'], mode: 'content' });
    const byPath = Object.fromEntries(r.files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual([
      'dir-link',
      'dir/x.txt',
      'inside-link',
      'outside-link',
      'real.txt',
    ]);
    const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
    expect(byPath['inside-link']).toEqual({
      path: 'inside-link',
      digest: sha('real.txt'),
      executable: false,
      symlink: true,
    });
    expect(byPath['outside-link']!.digest).toBe(sha(path.join(outside, 'secret.txt')));
    expect(byPath['dir-link']!.digest).toBe(sha('dir'));
    // Changing the target's content does not change the link's entry; re-pointing the link does.
    const links = (await hashFiles({ workspace: ws, patterns: ['*-link'], mode: 'content' })).hash;
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'changed');
    fs.writeFileSync(path.join(ws, 'real.txt'), 'changed too');
    expect((await hashFiles({ workspace: ws, patterns: ['*-link'], mode: 'content' })).hash).toBe(links);
    const before = (await hashFiles({ workspace: ws, patterns: ['inside-link'], mode: 'content' })).hash;
    fs.rmSync(path.join(ws, 'inside-link'));
    fs.symlinkSync('./real.txt', path.join(ws, 'inside-link'));
    expect((await hashFiles({ workspace: ws, patterns: ['inside-link'], mode: 'content' })).hash).not.toBe(
      before,
    );

    fs.symlinkSync('nowhere/at/all', path.join(ws, 'dangling'));
    const err = await inputError(hashFiles({ workspace: ws, patterns: ['**'], mode: 'content' }));
    expect(err.input).toBe('files');
    expect(err.message).toContain("broken symlink 'dangling' -> 'nowhere/at/all'");
  });

  it('refuses a pattern that runs through a symlink out of the workspace', async () => {
    const outside = makeTree(tmp(), { 'etc/passwd': 'root:x:0:0' });
    const ws = makeTree(tmp(), { 'a.txt': 'a', escape: { symlink: outside } });
    const err = await inputError(
      hashFiles({ workspace: ws, patterns: ['escape/etc/passwd'], mode: 'content' }),
    );
    expect(err.input).toBe('files');
    expect(err.message).toContain('out of the workspace');
  });

  it('gives the same result on the calling thread and in worker threads', async () => {
    const spec: Spec = {};
    for (let i = 0; i < 150; i++)
      spec[`d${i % 7}/f${i}.bin`] = crypto
        .createHash('sha256')
        .update(String(i))
        .digest()
        .toString('hex')
        .repeat(i);
    spec['run.sh'] = { content: 'x', exec: true };
    spec['lnk'] = { symlink: 'run.sh' };
    const ws = makeTree(tmp(), spec);
    const opts: HashOptions = { workspace: ws, patterns: ['**'], mode: 'content' };
    const main = await _hashFilesWithTuning(opts, { workers: 0 });
    const workers = await _hashFilesWithTuning(opts, { workers: 2, threshold: 1, batch: 7 });
    expect(workers).toEqual(main);
    expect(main.files).toHaveLength(152);
    const hf: HashOptions = { ...opts, mode: 'hashfiles' };
    expect(await _hashFilesWithTuning(hf, { workers: 2, threshold: 1, batch: 3 })).toEqual(
      await _hashFilesWithTuning(hf, { workers: 0 }),
    );
  });

  it('worker threads report skipped directories and unreadable paths at the same places as the calling thread', async () => {
    const spec: Spec = {};
    for (let i = 0; i < 60; i++) spec[`d${i % 5}/f${i}.txt`] = `file ${i}\n`.repeat(i + 1);
    // hashfiles follows symlinks: to a directory (skipped), to a FIFO and to nothing (errors).
    spec['d2/to-dir'] = { symlink: '../d1' };
    spec['d3/to-pipe'] = { symlink: '../pipe' };
    spec['d4/broken'] = { symlink: '../missing' };
    const ws = makeTree(tmp(), spec);
    execFileSync('mkfifo', [path.join(ws, 'pipe')]);
    const opts: HashOptions = { workspace: ws, patterns: ['d*/**'], mode: 'hashfiles' };
    const failure = async (tuning: Parameters<typeof _hashFilesWithTuning>[1]) =>
      (await _hashFilesWithTuning(opts, tuning).catch((e: Error) => e)) as InputError;
    const main = await failure({ workers: 0 });
    expect(main).toBeInstanceOf(InputError);
    expect(main.message).toContain("cannot read 'd3/to-pipe': a named pipe (FIFO), not a regular file");
    expect(main.message).toContain("broken symlink 'd4/broken' -> '../missing'");
    for (const batch of [1, 3, 7])
      expect((await failure({ workers: 2, threshold: 1, batch })).message).toBe(main.message);
    // Without the unreadable ones: the directory is skipped in both, the hash the same.
    fs.rmSync(path.join(ws, 'd3/to-pipe'));
    fs.rmSync(path.join(ws, 'd4/broken'));
    const ok = await _hashFilesWithTuning(opts, { workers: 0 });
    expect(ok.files.map((f) => f.path)).not.toContain('d2/to-dir');
    expect(await _hashFilesWithTuning(opts, { workers: 2, threshold: 1, batch: 3 })).toEqual(ok);
  });

  it('gives an empty hash with allowEmpty, and logs what it hashed', async () => {
    const ws = makeTree(tmp(), { 'a.txt': 'a' });
    const logger = memoryLogger();
    expect(
      await hashFiles({ workspace: ws, patterns: ['*.lock'], mode: 'content', allowEmpty: true }),
    ).toEqual({
      hash: '',
      mode: 'content',
      files: [],
      extra: [],
    });
    await hashFiles({ workspace: ws, patterns: ['a.txt'], mode: 'content', logger });
    expect(logger.text()).toMatch(/Hashed 1 file\(s\).*mode content/);
  });
});

describe('bad input: one InputError naming the input', () => {
  const ws = () => makeTree(tmp(), { 'a.txt': 'a', 'sub/b.txt': 'b' });

  it.each([
    ['..', ['../other/**']],
    ['.. in the middle', ['sub/../../x']],
    ['absolute outside', ['/etc/passwd']],
    ['absolute glob root', ['/*/passwd']],
    ['home outside', ['~/.ssh/*']],
    ['empty negation', ['!']],
    ['no pattern', ['# just a comment', '   ']],
  ])('files: %s', async (_what, pats) => {
    const err = await inputError(hashFiles({ workspace: ws(), patterns: pats, mode: 'content' }));
    expect(err.input).toBe('files');
  });

  it('an absolute pattern inside the workspace is fine', async () => {
    const w = ws();
    const r = await hashFiles({ workspace: w, patterns: [path.join(w, 'sub', '*.txt')], mode: 'content' });
    expect(r.files.map((f) => f.path)).toEqual(['sub/b.txt']);
  });

  it('no match names the patterns', async () => {
    const err = await inputError(hashFiles({ workspace: ws(), patterns: ['*.lock', '!x'], mode: 'content' }));
    expect(err.input).toBe('files');
    expect(err.message).toContain("no file matched the patterns '*.lock', '!x'");
  });

  it('extra in hashfiles mode', async () => {
    const err = await inputError(
      hashFiles({ workspace: ws(), patterns: ['**'], mode: 'hashfiles', extra: ['x'] }),
    );
    expect(err.input).toBe('extra');
  });

  it('an unknown mode', async () => {
    const err = await inputError(hashFiles({ workspace: ws(), patterns: ['**'], mode: 'md5' as never }));
    expect(err.input).toBe('mode');
  });

  it.each(['content', 'hashfiles'] as const)('a FIFO or socket matched (%s)', async (mode) => {
    const w = ws();
    execFileSync('mkfifo', [path.join(w, 'pipe')]);
    let err = await inputError(hashFiles({ workspace: w, patterns: ['pipe'], mode }));
    expect(err.message).toContain("'pipe' is a named pipe (FIFO)");
    fs.rmSync(path.join(w, 'pipe'));
    const server = net.createServer().listen(path.join(w, 'sock'));
    await new Promise((r) => server.once('listening', r));
    try {
      err = await inputError(hashFiles({ workspace: w, patterns: ['*'], mode }));
      expect(err.input).toBe('files');
      expect(err.message).toContain("'sock' is a socket");
    } finally {
      server.close();
    }
  });

  it('an unreadable file, named', async () => {
    const w = ws();
    fs.chmodSync(path.join(w, 'sub/b.txt'), 0);
    const opts = { workspace: w, patterns: ['**'], mode: 'content' };
    let out: { error?: string; input?: string; hash?: string };
    if (process.getuid?.() === 0) {
      // Root reads anything: run the engine in a child without the capabilities that allow it.
      const r = spawnSync(
        'setpriv',
        [
          '--bounding-set',
          '-dac_override,-dac_read_search',
          '--inh-caps',
          '-dac_override,-dac_read_search',
          process.execPath,
          '--import',
          'tsx',
          path.join(import.meta.dirname, '../fixtures/fingerprint/run-hash.ts'),
          JSON.stringify(opts),
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    } else {
      try {
        out = { hash: (await hashFiles(opts as HashOptions)).hash };
      } catch (e) {
        out = { error: (e as Error).message, input: (e as InputError).input };
      }
    }
    expect(out.input).toBe('files');
    expect(out.error).toContain("cannot read 'sub/b.txt': permission denied (EACCES)");
  });
});
