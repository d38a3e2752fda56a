/**
 * The hashing engine of action-hash-base: which files define a base image, and one hash over them.
 *
 * Modes:
 * - `content` (default, the hot path): sha256 over every matched file in workspace-relative path
 *   order (UTF-8 byte order), each framed as path, executable bit, content digest; then the extra
 *   strings (see frameHash in engine.ts for the exact encoding). Independent of the checkout's
 *   location, creation order and mtimes. Symlinks are hashed as links (sha256 of the link text)
 *   and never followed, wherever they point (inside or outside the workspace); a symlink whose
 *   target does not exist is an error naming it. A pattern whose literal prefix runs through a
 *   symlink out of the workspace is refused.
 * - `hashfiles`: byte for byte what GitHub's `hashFiles()` gives (the runner uses @actions/glob
 *   with followSymbolicLinks false): walk order, sha256 of each file's content (a symlink to a
 *   file is read through, a symlink to a directory skipped), sha256 of the concatenated raw
 *   digests; '' when nothing matched. Where the runner would fail (a broken symlink) this fails too.
 * - `git`: from HEAD's tree (`git ls-tree -r`): mode, object id and path of each matched entry,
 *   framed like `content`; no file is read. Fails outside a checkout, and names every matched file
 *   that is untracked, modified, staged or deleted.
 *
 * All modes match the same way (hashFiles syntax, @actions/glob semantics); `git` walks HEAD's tree
 * instead of the disk.
 */
export { hashFilesWith as _hashFilesWithTuning } from './engine.js';
export {
  decodeManifestLabel,
  describeManifestDiff,
  diffManifests,
  encodeManifestLabel,
  parseManifest,
  toManifest,
  validateManifest,
  writeManifest,
  type HashManifest,
  type ManifestDiff,
} from './manifest.js';
export { HASH_MODES, type HashedFile, type HashMode, type HashOptions, type HashResult } from './types.js';

import { hashFilesWith } from './engine.js';
import type { HashOptions, HashResult } from './types.js';

export async function hashFiles(opts: HashOptions): Promise<HashResult> {
  return hashFilesWith(opts);
}
export { headCommit } from './git.js';
