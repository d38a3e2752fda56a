import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Minimatch } from 'minimatch';

/** Whether an input is a glob (else a path, taken as it is). */
export const GLOB_MAGIC = /[*?[\]{}]/;

/**
 * The paths (files and directories) a glob of the `manifests` input matches, with minimatch (the
 * matcher Node's own fs.glob uses, and that runs on every supported Node: fs.glob needs 22+).
 * Relative patterns are relative to `cwd`; `*`, `?`, `[…]`, `**` and `{a,b}` as in a shell; hidden
 * entries are matched only by a pattern segment that starts with a dot. The walk starts at the
 * pattern's literal directory and only enters directories that can hold a match; symlinked
 * directories are matched but not entered. Absolute paths, in no particular order.
 */
export async function globPaths(pattern: string, cwd: string): Promise<string[]> {
  const normalized = pattern.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  const mm = new Minimatch(normalized, { dot: false, nocomment: true, nonegate: true });
  const found = new Set<string>();
  const visited = new Set<string>();

  const walk = async (dirRel: string): Promise<void> => {
    if (visited.has(dirRel)) return;
    visited.add(dirRel);
    let entries: Dirent[];
    try {
      entries = await readdir(path.resolve(cwd, dirRel || '.'), { withFileTypes: true });
    } catch {
      return; // not there, or not a directory: nothing matches under it
    }
    for (const e of entries) {
      const rel = dirRel ? (dirRel.endsWith('/') ? dirRel + e.name : `${dirRel}/${e.name}`) : e.name;
      if (mm.match(rel)) found.add(path.resolve(cwd, rel));
      if (e.isDirectory() && mm.match(rel, true)) await walk(rel);
    }
  };

  for (const parts of mm.set) {
    // The literal leading segments: where the walk starts (or, all literal, the one path to check).
    const literal: string[] = [];
    for (const p of parts) {
      if (typeof p !== 'string') break; // a RegExp or GLOBSTAR
      literal.push(p);
    }
    if (literal.length === parts.length) {
      const rel = literal.join('/');
      if (await stat(path.resolve(cwd, rel)).catch(() => undefined)) found.add(path.resolve(cwd, rel));
      continue;
    }
    const start = literal.join('/') || (normalized.startsWith('/') ? '/' : '');
    await walk(start);
  }
  return [...found];
}
