import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { C2CError, InputError, monotonicMs, nullLogger } from '../core/index.js';
import { Digester, F_DIR, F_ERROR, F_EXEC, type DigestTuning } from './digest.js';
import { compilePatterns, type PatternSet } from './patterns.js';
import { HASH_MODES, type HashedFile, type HashOptions, type HashResult } from './types.js';
import { fsSource, walk, walkEntries, type WalkEntry } from './walk.js';

/** Quotes a name for a message; names with control characters (newlines) are JSON-escaped. */
export function quoteName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f']/.test(name) ? JSON.stringify(name) : `'${name}'`;
}

function listNames(items: string[], max = 10): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

const byBytes = (a: { key: Buffer }, b: { key: Buffer }) => Buffer.compare(a.key, b.key);
const byCodeUnits = (a: HashedFile, b: HashedFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
const SURROGATE = /[\uD800-\uDFFF]/;

/** Sorts by workspace-relative path in UTF-8 byte order (not UTF-16 code unit order). */
function sortByPathBytes(files: HashedFile[]): HashedFile[] {
  // Without surrogate pairs (characters past U+FFFF), UTF-16 code unit order is UTF-8 byte order.
  if (!files.some((f) => SURROGATE.test(f.path))) return files.sort(byCodeUnits);
  return files
    .map((f) => ({ f, key: Buffer.from(f.path) }))
    .sort(byBytes)
    .map((x) => x.f);
}

const ASCII = /^[^\u0080-\uffff]*$/;
const HEX_VALUE = new Uint8Array(128);
for (let c = 0; c < 16; c++) HEX_VALUE['0123456789abcdef'.charCodeAt(c)] = c;

/**
 * The content and git hash: sha256 over an unambiguous, length-prefixed encoding.
 *   "c2c-hash\0" "1\0" mode "\0"
 *   u32be number of files, then per file: u32be path length, path (UTF-8), u8 flags
 *     (1 executable, 2 symlink), u8 digest length, raw digest bytes
 *   u32be number of extra strings, then per string: u32be length, UTF-8 bytes
 * Encoded into one buffer (ASCII paths and hex digests byte by byte, without a call per field),
 * hashed with one update.
 */
function frameHash(mode: string, files: HashedFile[], extra: string[]): string {
  const head = Buffer.from(`c2c-hash\u00001\u0000${mode}\u0000`);
  const pathLengths = new Uint32Array(files.length);
  let size = head.length + 4 + 4;
  for (let k = 0; k < files.length; k++) {
    const f = files[k]!;
    const n = ASCII.test(f.path) ? f.path.length : Buffer.byteLength(f.path);
    pathLengths[k] = n;
    size += 4 + n + 2 + (f.digest.length >> 1);
  }
  for (const e of extra) size += 4 + Buffer.byteLength(e);
  const b = Buffer.allocUnsafe(size);
  const u32 = (n: number, o: number) => {
    b[o] = n >>> 24;
    b[o + 1] = (n >>> 16) & 255;
    b[o + 2] = (n >>> 8) & 255;
    b[o + 3] = n & 255;
    return o + 4;
  };
  let o = head.copy(b, 0);
  o = u32(files.length, o);
  for (let k = 0; k < files.length; k++) {
    const f = files[k]!;
    const p = f.path;
    const n = pathLengths[k]!;
    o = u32(n, o);
    if (n === p.length) for (let c = 0; c < n; c++) b[o + c] = p.charCodeAt(c);
    else b.write(p, o, 'utf8');
    o += n;
    const d = f.digest;
    b[o++] = (f.executable ? 1 : 0) | (f.symlink ? 2 : 0);
    b[o++] = d.length >> 1;
    for (let c = 0; c < d.length; c += 2)
      b[o++] = (HEX_VALUE[d.charCodeAt(c)]! << 4) | HEX_VALUE[d.charCodeAt(c + 1)]!;
  }
  o = u32(extra.length, o);
  for (const e of extra) {
    const len = b.write(e, o + 4, 'utf8');
    o = u32(len, o) + len;
  }
  if (o !== size) throw new Error(`frameHash: encoded ${o} bytes, expected ${size}`);
  return crypto.createHash('sha256').update(b).digest('hex');
}

interface Problem {
  rel: string;
  text: string;
}

function describeOutcomeError(o: { code: string; message: string }): string {
  if (o.code === 'ENOTREG') return o.message;
  if (o.code === 'EACCES' || o.code === 'EPERM') return `permission denied (${o.code})`;
  if (o.code === 'ENOENT') return `it disappeared while hashing (ENOENT)`;
  return `${o.message.replace(/^[A-Z]+: /, '').replace(/, open .*$/s, '')} (${o.code})`;
}

/** Throws one InputError for everything that went wrong with matched files. */
function throwProblems(problems: Problem[]): void {
  if (problems.length === 0) return;
  const first = problems.slice(0, 5).map((p) => p.text);
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
  throw new InputError(
    'files',
    first.join('; ') + more,
    'matched paths that are readable regular files or symlinks to existing targets, or patterns that leave them out',
  );
}

function brokenSymlink(abs: string, rel: string): Problem | undefined {
  try {
    fs.statSync(abs);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let target = '';
    try {
      target = fs.readlinkSync(abs);
    } catch {
      /* gone */
    }
    const why = code === 'ELOOP' ? 'it loops' : 'its target does not exist';
    return { rel, text: `broken symlink ${quoteName(rel)} -> ${quoteName(target)}: ${why}` };
  }
}

function realWorkspace(workspace: string): string {
  let ws: string;
  try {
    ws = fs.realpathSync(path.resolve(workspace));
  } catch {
    throw new C2CError(`The workspace ${workspace} does not exist.`);
  }
  if (!fs.statSync(ws).isDirectory()) throw new C2CError(`The workspace ${workspace} is not a directory.`);
  return ws;
}

/** `content` mode never follows a symlink out of the workspace, not even in a pattern's literal prefix. */
function checkSearchPathsInside(ws: string, patterns: PatternSet): void {
  for (const sp of patterns.searchPaths) {
    if (sp === ws) continue;
    let real: string;
    try {
      real = fs.realpathSync(path.dirname(sp));
    } catch {
      continue; // nothing there: nothing matched
    }
    if (real !== ws && !real.startsWith(ws + '/')) {
      throw new InputError(
        'files',
        `the patterns reach ${quoteName(path.relative(ws, sp))} through a symbolic link that leads out of the workspace (to ${real})`,
        'patterns naming paths inside the workspace',
      );
    }
  }
}

export async function hashFilesWith(opts: HashOptions, tuning: DigestTuning = {}): Promise<HashResult> {
  const logger = opts.logger ?? nullLogger;
  const mode = opts.mode;
  const extra = opts.extra ?? [];
  // Validate everything first.
  if (!(HASH_MODES as readonly string[]).includes(mode))
    throw new InputError(
      'mode',
      `'${String(mode)}' is not a known mode`,
      `one of ${HASH_MODES.map((m) => `'${m}'`).join(', ')}`,
    );
  if (!Array.isArray(extra) || extra.some((e) => typeof e !== 'string'))
    throw new InputError('extra', 'must be a list of strings', 'newline-separated strings');
  if (mode === 'hashfiles' && extra.length > 0)
    throw new InputError(
      'extra',
      `extra strings cannot be mixed into mode 'hashfiles', whose hash must equal GitHub's hashFiles()`,
      "no extra, or mode 'content' or 'git'",
    );
  const ws = realWorkspace(opts.workspace);
  const patterns = compilePatterns(opts.patterns, ws);
  logger.debug(
    `hash ${mode}: patterns ${patterns.sources.map(quoteName).join(', ')}; search ${patterns.searchPaths.join(', ')}`,
  );
  const rel = (abs: string) => (ws === '/' ? abs.slice(1) : abs.slice(ws.length + 1));
  const started = monotonicMs();

  let files: HashedFile[];
  let hash: string;
  let bytes = 0;
  if (mode === 'git') {
    // git mode runs git: its module (and the process layer under it) loads only in this mode.
    const { gitDifferences, gitSource, readGitView } = await import('./git.js');
    const view = await readGitView(ws);
    const entries: WalkEntry[] = [];
    walk(patterns, gitSource(ws, view), (e) => entries.push(e));
    const differences = await gitDifferences(ws, view, patterns);
    if (differences.length > 0)
      throw new InputError(
        'files',
        `mode 'git' hashes what HEAD holds, but matched files differ from it: ${listNames(
          differences.map((d) => `${quoteName(d.path)} (${d.reason})`),
        )}`,
        "those changes committed, or mode 'content'",
      );
    const problems: Problem[] = [];
    files = [];
    for (const e of entries) {
      const r = rel(e.abs);
      const g = view.entries.get(r)!;
      if (g.mode === '120000') {
        const p = brokenSymlink(e.abs, r);
        if (p) problems.push(p);
      }
      files.push({
        path: r,
        digest: g.oid,
        executable: g.mode === '100755',
        ...(g.mode === '120000' ? { symlink: true as const } : {}),
      });
    }
    throwProblems(problems);
    files = sortByPathBytes(files);
    hash = files.length ? frameHash(mode, files, extra) : '';
  } else {
    const follow = mode === 'hashfiles';
    if (!follow) checkSearchPathsInside(ws, patterns);
    const digester = new Digester(follow, tuning);
    const problems: Problem[] = [];
    // Symlinks (content mode) are handled here; everything else goes to the digester.
    const links: string[] = [];
    // Only overlapping search paths can meet a path twice.
    const seen = !follow && patterns.searchPaths.length > 1 ? new Set<string>() : undefined;
    for (const e of walkEntries(patterns, fsSource)) {
      if (seen) {
        if (seen.has(e.abs)) continue;
        seen.add(e.abs);
      }
      if (e.type === 'other') {
        let what = 'not a regular file';
        try {
          const st = fs.lstatSync(e.abs);
          if (st.isFIFO()) what = 'a named pipe (FIFO), not a regular file';
          else if (st.isSocket()) what = 'a socket, not a regular file';
          else if (st.isBlockDevice() || st.isCharacterDevice()) what = 'a device, not a regular file';
        } catch {
          /* keep the generic text */
        }
        problems.push({ rel: rel(e.abs), text: `${quoteName(rel(e.abs))} is ${what}` });
      } else if (e.type === 'symlink' && !follow) {
        links.push(e.abs);
      } else {
        digester.add(e.abs);
      }
    }
    const out = await digester.finish();
    const count = digester.size;
    const hex = out.hex(count);
    files = [];
    for (let i = 0; i < count; i++) {
      const flag = out.flags[i];
      if (flag === F_DIR) continue; // hashfiles: a symlink to a directory, skipped as the runner does
      const abs = digester.path(i);
      const r = rel(abs);
      if (flag === F_ERROR) {
        const o = out.errors.get(i)!;
        const broken =
          follow && (o.code === 'ENOENT' || o.code === 'ELOOP') ? brokenSymlink(abs, r) : undefined;
        problems.push(broken ?? { rel: r, text: `cannot read ${quoteName(r)}: ${describeOutcomeError(o)}` });
        continue;
      }
      bytes += out.sizes[i]!;
      files.push({ path: r, digest: hex.slice(64 * i, 64 * i + 64), executable: flag === F_EXEC });
    }
    for (const abs of links) {
      const r = rel(abs);
      const p = brokenSymlink(abs, r);
      if (p) {
        problems.push(p);
        continue;
      }
      const target = fs.readlinkSync(abs, { encoding: 'buffer' });
      files.push({
        path: r,
        digest: crypto.createHash('sha256').update(target).digest('hex'),
        executable: false,
        symlink: true,
      });
    }
    throwProblems(problems);
    if (follow) {
      if (files.length === 0) hash = '';
      else {
        // sha256 over the raw digests in walk order (the digester's order; directories left out).
        const raw =
          files.length === count
            ? out.digests.subarray(0, 32 * count)
            : Buffer.from(files.map((f) => f.digest).join(''), 'hex');
        hash = crypto.createHash('sha256').update(raw).digest('hex');
      }
    } else {
      files = sortByPathBytes(files);
      hash = files.length ? frameHash(mode, files, extra) : '';
    }
  }

  if (files.length === 0 && !opts.allowEmpty)
    throw new InputError(
      'files',
      `no file matched the patterns ${patterns.sources.map(quoteName).join(', ')} in ${ws}`,
      'patterns that match at least one file, or allow-empty: true',
    );
  const ms = monotonicMs() - started;
  logger.info(
    `Hashed ${files.length} file(s)${bytes ? ` (${(bytes / 1048576).toFixed(1)} MiB)` : ''} in mode ${mode} in ${ms.toFixed(0)} ms: ${hash || '(empty)'}`,
  );
  return { hash, mode, files, extra: [...extra] };
}
