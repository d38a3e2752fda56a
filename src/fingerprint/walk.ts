import fs from 'node:fs';
import { MatchKind, type PatternSet } from './patterns.js';

/** What a walk found at a path: a directory is descended, everything else is a leaf. */
export type EntryType = 'dir' | 'file' | 'symlink' | 'other';

/** The file system a walk reads: the real one, or git's view of HEAD. */
export interface WalkSource {
  /** Type of the path itself (not following a final symlink), or null when it does not exist. */
  lstat(absPath: string): EntryType | null;
  /** Children of a directory, in byte order of their names (what readdir gives on Linux). */
  readdir(absPath: string): { name: string; type: EntryType }[];
}

export interface WalkEntry {
  /** Absolute path. */
  abs: string;
  type: Exclude<EntryType, 'dir'>;
}

function typeOfStats(st: fs.Stats): EntryType {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** The real file system, read synchronously (fast: one readdir per directory, no stat per file). */
export const fsSource: WalkSource = {
  lstat(absPath) {
    try {
      return typeOfStats(fs.lstatSync(absPath));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a search path runs through a file ('package.json/x'): nothing there.
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  },
  readdir(absPath) {
    // libuv's scandir sorts names with strcmp: byte order, as @actions/glob sees them.
    return fs.readdirSync(absPath, { withFileTypes: true }).map((d) => {
      let type: EntryType;
      if (d.isDirectory()) type = 'dir';
      else if (d.isFile()) type = 'file';
      else if (d.isSymbolicLink()) type = 'symlink';
      else if (d.isFIFO() || d.isSocket() || d.isBlockDevice() || d.isCharacterDevice()) type = 'other';
      else type = typeOfStats(fs.lstatSync(join(absPath, d.name))); // DT_UNKNOWN
      return { name: d.name, type };
    });
  },
};

export function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : dir + '/' + name;
}

/**
 * Walks like @actions/glob's globGenerator with followSymbolicLinks false: each search path in
 * order, depth first, siblings in byte order; directories are descended when they match or may
 * contain a match; symlinks are never descended (they are leaves); a leaf is yielded when a
 * pattern matches it as a file. Yields each leaf in walk order. An iterator, so that a caller can
 * pause between entries (the content hash lets worker threads' results in while it walks).
 */
export function* walkEntries(patterns: PatternSet, source: WalkSource): Generator<WalkEntry> {
  for (const searchPath of patterns.searchPaths) {
    const type = source.lstat(searchPath);
    if (type === null) continue;
    const match = patterns.match(searchPath);
    if (type !== 'dir') {
      if (match & MatchKind.File) yield { abs: searchPath, type };
      continue;
    }
    if (match === MatchKind.None && !patterns.partialMatch(searchPath)) continue;
    // Depth first with an explicit stack: each frame is a directory and the next child to visit.
    const stack: { dir: string; children: { name: string; type: EntryType }[]; next: number }[] = [
      { dir: searchPath, children: source.readdir(searchPath), next: 0 },
    ];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next === top.children.length) {
        stack.pop();
        continue;
      }
      const child = top.children[top.next++]!;
      const abs = join(top.dir, child.name);
      if (child.type === 'dir') {
        if (patterns.match(abs) !== MatchKind.None || patterns.partialMatch(abs))
          stack.push({ dir: abs, children: source.readdir(abs), next: 0 });
      } else if (patterns.match(abs) & MatchKind.File) {
        yield { abs, type: child.type };
      }
    }
  }
}

/** walkEntries with a callback, for callers that never pause. */
export function walk(patterns: PatternSet, source: WalkSource, onEntry: (e: WalkEntry) => void): void {
  for (const e of walkEntries(patterns, source)) onEntry(e);
}
