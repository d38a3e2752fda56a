import fs from 'node:fs';
import path from 'node:path';
import { C2CError, InputError, ExecError, exec } from '../core/index.js';
import type { PatternSet } from './patterns.js';
import { MatchKind } from './patterns.js';
import { join, type EntryType, type WalkSource } from './walk.js';

/** One entry of `git ls-tree -r HEAD`, relative to the workspace. */
export interface GitEntry {
  mode: string;
  type: string;
  oid: string;
  /** Workspace-relative POSIX path. */
  path: string;
}

export interface GitView {
  toplevel: string;
  /** Workspace path relative to the toplevel ('' when they are the same). */
  prefix: string;
  entries: Map<string, GitEntry>;
}

const GIT_HINT = 'apt-get install -y git';

async function git(cwd: string, args: string[], allowFailure = false) {
  return exec('git', args, { cwd, allowFailure, installHint: GIT_HINT });
}

/** The commit checked out in the workspace (git HEAD), or undefined outside a checkout. */
export async function headCommit(workspace: string): Promise<string | undefined> {
  const r = await git(workspace, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], true).catch(
    () => undefined,
  );
  return r && r.code === 0 ? r.stdout.trim() : undefined;
}

/** Reads HEAD's tree under the workspace. Fails (naming the input 'mode') outside a checkout. */
export async function readGitView(workspace: string): Promise<GitView> {
  const top = await git(workspace, ['rev-parse', '--show-toplevel'], true);
  if (top.code !== 0) {
    const why = top.stderr.trim().split('\n').pop() ?? '';
    throw new InputError(
      'mode',
      `'git' hashes what the checkout's HEAD holds, but ${workspace} is not inside a git checkout${why ? ` (git: ${why})` : ''}`,
      "a git checkout, or mode 'content'",
    );
  }
  const toplevel = fs.realpathSync(top.stdout.trim());
  const head = await git(toplevel, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], true);
  if (head.code !== 0)
    throw new InputError(
      'mode',
      `'git' hashes what HEAD holds, but the repository at ${toplevel} has no commit yet`,
      "a checkout with a commit, or mode 'content'",
    );
  const prefix = path.relative(toplevel, workspace).split(path.sep).join('/');
  if (prefix.startsWith('..'))
    throw new C2CError(`Workspace ${workspace} is not inside the git checkout ${toplevel}.`);

  const listing = await git(toplevel, ['ls-tree', '-r', '-z', '--full-tree', 'HEAD']);
  const entries = new Map<string, GitEntry>();
  const under = prefix ? prefix + '/' : '';
  for (const record of listing.stdout.split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [mode, type, oid] = record.slice(0, tab).split(' ');
    const full = record.slice(tab + 1);
    if (!mode || !type || !oid || tab < 0)
      throw new C2CError(`Unexpected line from git ls-tree: ${JSON.stringify(record)}`);
    if (under && !full.startsWith(under)) continue;
    const rel = full.slice(under.length);
    entries.set(rel, { mode, type, oid, path: rel });
  }
  return { toplevel, prefix, entries };
}

/** HEAD's tree as a file system for the walk: directories are implied by the paths. */
export function gitSource(workspace: string, view: GitView): WalkSource {
  const dirs = new Map<string, { name: string; type: EntryType }[]>();
  const leaves = new Map<string, EntryType>();
  dirs.set(workspace, []);
  for (const e of view.entries.values()) {
    const parts = e.path.split('/');
    let dir = workspace;
    for (let i = 0; i < parts.length; i++) {
      const abs = join(dir, parts[i]!);
      if (i === parts.length - 1) {
        const type: EntryType = e.mode === '120000' ? 'symlink' : 'file';
        leaves.set(abs, type);
        dirs.get(dir)!.push({ name: parts[i]!, type });
      } else if (!dirs.has(abs)) {
        dirs.set(abs, []);
        dirs.get(dir)!.push({ name: parts[i]!, type: 'dir' });
      }
      dir = abs;
    }
  }
  const byBytes = (a: { name: string }, b: { name: string }) =>
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
  for (const list of dirs.values()) list.sort(byBytes);
  return {
    lstat: (abs) => (dirs.has(abs) ? 'dir' : (leaves.get(abs) ?? null)),
    readdir: (abs) => dirs.get(abs) ?? [],
  };
}

/**
 * Matched files whose work tree or index differs from HEAD, or that git does not track (ignored
 * files are git's business and are not reported). Returns workspace-relative paths with a reason.
 */
export async function gitDifferences(
  workspace: string,
  view: GitView,
  patterns: PatternSet,
): Promise<{ path: string; reason: string }[]> {
  const args = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames'];
  if (view.prefix) args.push('--', `:(top,literal)${view.prefix}`);
  let out: string;
  try {
    out = (await git(view.toplevel, args)).stdout;
  } catch (err) {
    if (err instanceof ExecError) throw new C2CError(`git status failed in ${view.toplevel}: ${err.message}`);
    throw err;
  }
  const under = view.prefix ? view.prefix + '/' : '';
  const found: { path: string; reason: string }[] = [];
  for (const record of out.split('\0')) {
    if (record.length < 4) continue;
    const xy = record.slice(0, 2);
    const full = record.slice(3);
    if (under && !full.startsWith(under)) continue;
    const rel = full.slice(under.length);
    if (!(patterns.match(join(workspace, rel)) & MatchKind.File)) continue;
    let reason: string;
    if (xy === '??') reason = 'untracked';
    else if (xy.includes('D')) reason = 'deleted';
    else if (xy[0] !== ' ' && xy[1] === ' ') reason = 'staged, not committed';
    else reason = 'modified';
    found.push({ path: rel, reason });
  }
  return found;
}
