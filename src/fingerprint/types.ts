import type { Logger } from '../core/index.js';

export type HashMode = 'content' | 'hashfiles' | 'git';

export const HASH_MODES: readonly HashMode[] = ['content', 'hashfiles', 'git'];

export interface HashOptions {
  /** Directory the patterns are relative to (GITHUB_WORKSPACE). */
  workspace: string;
  /** hashFiles-syntax globs; each entry may hold several lines. */
  patterns: string[];
  mode: HashMode;
  /** Strings mixed into the hash after the files (refused in `hashfiles` mode). */
  extra?: string[];
  /** No match gives hash '' instead of an error. */
  allowEmpty?: boolean;
  logger?: Logger;
}

export interface HashedFile {
  /** Workspace-relative POSIX path. */
  path: string;
  /** sha256 hex of the content; the git object id in `git` mode; sha256 of the link text for symlinks (`content` mode). */
  digest: string;
  /** Owner-executable bit (git's 100755). */
  executable: boolean;
  symlink?: true;
}

export interface HashResult {
  /** 64 hex; '' only with allowEmpty and no match. */
  hash: string;
  mode: HashMode;
  /** content and git: by path in byte order; hashfiles: in walk order (the order that was hashed). */
  files: HashedFile[];
  extra: string[];
}
