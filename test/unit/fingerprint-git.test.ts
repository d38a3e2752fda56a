import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { hashFiles, type HashedFile } from '../../src/fingerprint/index.js';
import { haveTools } from '../helpers/tools.js';
import { makeTree, tempDir, type Spec } from '../fixtures/fingerprint/tree.js';

const dirs: string[] = [];
const tmp = () => {
  const d = tempDir('c2c-hashgit-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: '/nonexistent',
};
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' });

function repo(spec: Spec): string {
  const dir = makeTree(tmp(), spec);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'init');
  return dir;
}

/** `git ls-tree -r HEAD` parsed into what git mode should report for those paths. */
function lsTree(dir: string, prefix = ''): Map<string, HashedFile> {
  const out = new Map<string, HashedFile>();
  for (const rec of git(dir, 'ls-tree', '-r', '-z', '--full-tree', 'HEAD').split('\0')) {
    if (!rec) continue;
    const [meta, p] = rec.split('\t') as [string, string];
    const [mode, , oid] = meta.split(' ') as [string, string, string];
    if (prefix && !p.startsWith(prefix + '/')) continue;
    const rel = prefix ? p.slice(prefix.length + 1) : p;
    out.set(rel, {
      path: rel,
      digest: oid,
      executable: mode === '100755',
      ...(mode === '120000' ? { symlink: true as const } : {}),
    });
  }
  return out;
}

const spec: Spec = {
  'requirements.txt': 'flask\n',
  'Dockerfile.base': 'FROM scratch\n',
  'bin/tool': { content: '#!/bin/sh\n', exec: true },
  'bin/link': { symlink: 'tool' },
  'deps/lock.json': '{}\n',
  'deps/.hidden': 'h\n',
  'weird name\n.txt': 'w\n',
  'docs/readme.md': 'docs\n',
};
const patterns = ['requirements.txt', 'Dockerfile.base', 'bin/', 'deps/**', 'weird*', '!deps/.hidden'];

describe.skipIf(!haveTools('git'))('git mode', () => {
  it("reports exactly git ls-tree's modes and object ids for the matched files", async () => {
    const dir = repo(spec);
    const r = await hashFiles({ workspace: dir, patterns, mode: 'git' });
    const tree = lsTree(dir);
    const expectedPaths = [
      'Dockerfile.base',
      'bin/link',
      'bin/tool',
      'deps/lock.json',
      'requirements.txt',
      'weird name\n.txt',
    ];
    expect(r.files.map((f) => f.path)).toEqual(expectedPaths);
    expect(r.files).toEqual(expectedPaths.map((p) => tree.get(p)));
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    // Same matched set as content mode on the same (clean) checkout.
    const c = await hashFiles({ workspace: dir, patterns, mode: 'content' });
    expect(c.files.map((f) => f.path)).toEqual(expectedPaths);
    expect(c.hash).not.toBe(r.hash);
  });

  it('is a function of what is committed: same from a clone elsewhere, changes with a commit, mixes in extra', async () => {
    const dir = repo(spec);
    const h = (await hashFiles({ workspace: dir, patterns, mode: 'git' })).hash;
    const clone = path.join(tmp(), 'elsewhere', 'clone');
    git(tmp(), 'clone', '-q', dir, clone);
    expect((await hashFiles({ workspace: clone, patterns, mode: 'git' })).hash).toBe(h);
    expect((await hashFiles({ workspace: dir, patterns, mode: 'git', extra: ['salt'] })).hash).not.toBe(h);
    // A commit outside the matched files changes nothing; one inside does.
    fs.writeFileSync(path.join(clone, 'docs/readme.md'), 'more docs\n');
    git(clone, 'commit', '-q', '-am', 'docs');
    expect((await hashFiles({ workspace: clone, patterns, mode: 'git' })).hash).toBe(h);
    fs.chmodSync(path.join(clone, 'deps/lock.json'), 0o755);
    git(clone, 'commit', '-q', '-am', 'exec bit');
    const h2 = (await hashFiles({ workspace: clone, patterns, mode: 'git' })).hash;
    expect(h2).not.toBe(h);
    expect(lsTree(clone).get('deps/lock.json')!.executable).toBe(true);
  });

  it('works in a workspace below the repository root, with paths relative to the workspace', async () => {
    const dir = repo({
      'app/requirements.txt': 'x\n',
      'app/sub/a.lock': 'y\n',
      'other/requirements.txt': 'z\n',
    });
    const ws = path.join(dir, 'app');
    const r = await hashFiles({ workspace: ws, patterns: ['**/requirements.txt', '**/*.lock'], mode: 'git' });
    const tree = lsTree(dir, 'app');
    expect(r.files).toEqual([tree.get('requirements.txt'), tree.get('sub/a.lock')]);
  });

  it('names matched files that are untracked, modified, staged or deleted; ignores unmatched and ignored ones', async () => {
    const dir = repo({ ...spec, '.gitignore': 'deps/*.tmp\n' });
    fs.writeFileSync(path.join(dir, 'docs/new.md'), 'unmatched\n');
    fs.writeFileSync(path.join(dir, 'deps/cache.tmp'), 'ignored\n');
    await expect(hashFiles({ workspace: dir, patterns, mode: 'git' })).resolves.toBeTruthy();

    fs.writeFileSync(path.join(dir, 'deps/new.json'), '{}\n');
    fs.appendFileSync(path.join(dir, 'requirements.txt'), 'requests\n');
    fs.writeFileSync(path.join(dir, 'Dockerfile.base'), 'FROM busybox\n');
    git(dir, 'add', 'Dockerfile.base');
    fs.rmSync(path.join(dir, 'bin/tool'));
    const err = await hashFiles({ workspace: dir, patterns, mode: 'git' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect(e.input).toBe('files');
    expect(e.message).toContain("'deps/new.json' (untracked)");
    expect(e.message).toContain("'requirements.txt' (modified)");
    expect(e.message).toContain("'Dockerfile.base' (staged, not committed)");
    expect(e.message).toContain("'bin/tool' (deleted)");
    expect(e.message).not.toContain('docs/new.md');
    expect(e.message).not.toContain('cache.tmp');
  });

  it('fails outside a git checkout, and in a repository without a commit, naming the mode', async () => {
    const plain = makeTree(tmp(), { 'a.txt': 'a' });
    let err = await hashFiles({ workspace: plain, patterns: ['a.txt'], mode: 'git' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).input).toBe('mode');
    expect((err as InputError).message).toContain('not inside a git checkout');

    const empty = makeTree(tmp(), { 'a.txt': 'a' });
    git(empty, 'init', '-q');
    err = await hashFiles({ workspace: empty, patterns: ['a.txt'], mode: 'git' }).catch((e: unknown) => e);
    expect((err as InputError).input).toBe('mode');
    expect((err as InputError).message).toContain('no commit');
  });

  it('no match, and allowEmpty', async () => {
    const dir = repo(spec);
    const err = await hashFiles({ workspace: dir, patterns: ['*.nothing'], mode: 'git' }).catch(
      (e: unknown) => e,
    );
    expect((err as InputError).input).toBe('files');
    expect(
      await hashFiles({ workspace: dir, patterns: ['*.nothing'], mode: 'git', allowEmpty: true }),
    ).toEqual({
      hash: '',
      mode: 'git',
      files: [],
      extra: [],
    });
  });
});
