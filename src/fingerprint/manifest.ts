import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { C2CError } from '../core/index.js';
import type { HashedFile, HashMode, HashResult } from './types.js';

/** zlib loads when a label is encoded or read: the skip path, which does neither, does not pay for it. */
const zlib = () => process.getBuiltinModule('node:zlib');

/**
 * The hash manifest: what a hash was made of (each file with its digest, the mode, the extra
 * strings). Written next to the run as JSON, and carried in the base image as a label so the next
 * run can say why it rebuilds.
 */
export interface HashManifest {
  version: 1;
  mode: HashMode;
  hash: string;
  extra: string[];
  files: HashedFile[];
}

export interface ManifestDiff {
  added: string[];
  removed: string[];
  /** Files in both whose digest, executable bit or link-ness differ. */
  changed: string[];
  /**
   * Set when the two manifests were made in different modes. Between `content` and `hashfiles`
   * digests are still both sha256 of the content; with `git` on one side they are not comparable,
   * so every file present in both is listed in `changed`.
   */
  modeChanged?: { from: HashMode; to: HashMode };
  /** Set when the extra strings differ: those only in the newer, and those only in the older. */
  extraChanged?: { added: string[]; removed: string[] };
}

const MODES: readonly HashMode[] = ['content', 'hashfiles', 'git'];
const HEX64 = /^[0-9a-f]{64}$/;
const GIT_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A decoded label never inflates past this (a zip bomb in a registry must not exhaust memory). */
const MAX_LABEL_JSON = 64 << 20;

export function toManifest(r: HashResult): HashManifest {
  return {
    version: 1,
    mode: r.mode,
    hash: r.hash,
    extra: [...r.extra],
    files: r.files.map((f) => ({
      path: f.path,
      digest: f.digest,
      executable: f.executable,
      ...(f.symlink ? { symlink: true as const } : {}),
    })),
  };
}

function bad(problem: string): never {
  throw new C2CError(`Invalid hash manifest: ${problem}.`);
}

function checkKeys(obj: Record<string, unknown>, where: string, required: string[], optional: string[] = []) {
  for (const k of required) if (!(k in obj)) bad(`${where} has no '${k}'`);
  for (const k of Object.keys(obj))
    if (!required.includes(k) && !optional.includes(k)) bad(`${where} has an unknown key '${k}'`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a parsed value strictly: exact keys, types, digests, no duplicate or unsafe paths. */
export function validateManifest(value: unknown): HashManifest {
  if (!isObject(value)) bad('expected a JSON object');
  checkKeys(value, 'the manifest', ['version', 'mode', 'hash', 'extra', 'files']);
  if (value.version !== 1) bad(`unsupported version ${JSON.stringify(value.version)} (expected 1)`);
  const mode = value.mode;
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode))
    bad(`mode ${JSON.stringify(mode)} is not one of ${MODES.join(', ')}`);
  const hash = value.hash;
  if (typeof hash !== 'string' || !(hash === '' || HEX64.test(hash)))
    bad('hash must be 64 lowercase hex characters or empty');
  if (!Array.isArray(value.extra) || !value.extra.every((e) => typeof e === 'string'))
    bad('extra must be an array of strings');
  if (!Array.isArray(value.files)) bad('files must be an array');
  const digestRe = mode === 'git' ? GIT_OID : HEX64;
  const seen = new Set<string>();
  const files: HashedFile[] = value.files.map((f: unknown, i: number) => {
    const where = `files[${i}]`;
    if (!isObject(f)) bad(`${where} is not an object`);
    checkKeys(f, where, ['path', 'digest', 'executable'], ['symlink']);
    const p = f.path;
    if (typeof p !== 'string' || p === '') bad(`${where}.path must be a non-empty string`);
    if (p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..'))
      bad(`${where}.path ${JSON.stringify(p)} is not a workspace-relative path`);
    if (p.includes('\0')) bad(`${where}.path contains a NUL character`);
    if (seen.has(p)) bad(`${where}.path ${JSON.stringify(p)} appears twice`);
    seen.add(p);
    if (typeof f.digest !== 'string' || !digestRe.test(f.digest))
      bad(`${where}.digest must be ${mode === 'git' ? 'a git object id' : '64 lowercase hex characters'}`);
    if (typeof f.executable !== 'boolean') bad(`${where}.executable must be true or false`);
    if ('symlink' in f && f.symlink !== true) bad(`${where}.symlink must be true when present`);
    return {
      path: p,
      digest: f.digest,
      executable: f.executable,
      ...(f.symlink === true ? { symlink: true as const } : {}),
    };
  });
  if (hash === '' && files.length > 0) bad('an empty hash cannot list files');
  if (hash !== '' && files.length === 0) bad('a non-empty hash must list its files');
  return { version: 1, mode: mode as HashMode, hash, extra: [...(value.extra as string[])], files };
}

export function parseManifest(text: string): HashManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    bad(`not JSON (${(err as Error).message})`);
  }
  return validateManifest(value);
}

/**
 * Writes the manifest as `hash-manifest-<first 16 hex of the hash>.json` in `dir` (created when
 * missing; written to a temporary name, then renamed). Returns the path. `m` comes from toManifest
 * or parseManifest, both valid by construction: it is not validated again (on 20,000 files that
 * took longer than writing).
 */
export async function writeManifest(m: HashManifest, dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `hash-manifest-${m.hash ? m.hash.slice(0, 16) : 'empty'}.json`);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(m, null, 2) + '\n');
  await fs.rename(tmp, file);
  return file;
}

/** Compact form for an image label or annotation: base64 of the gzipped JSON. */
export function encodeManifestLabel(m: HashManifest): string {
  validateManifest(m);
  return zlib()
    .gzipSync(Buffer.from(JSON.stringify(m)), { level: 9 })
    .toString('base64');
}

export function decodeManifestLabel(s: string): HashManifest {
  const text = s.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) bad('the label is not base64');
  const gz = Buffer.from(text, 'base64');
  if (gz.length < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b) bad('the label is not gzip data');
  let json: Buffer;
  try {
    json = zlib().gunzipSync(gz, { maxOutputLength: MAX_LABEL_JSON });
  } catch (err) {
    bad(`the label does not inflate (${(err as Error).message})`);
  }
  return parseManifest(json.toString('utf8'));
}

const comparable = (a: HashMode, b: HashMode) => a === b || (a !== 'git' && b !== 'git');

/** What changed from `older` to `newer`; paths in byte order. */
export function diffManifests(older: HashManifest, newer: HashManifest): ManifestDiff {
  const before = new Map(older.files.map((f) => [f.path, f]));
  const after = new Map(newer.files.map((f) => [f.path, f]));
  const sameDigests = comparable(older.mode, newer.mode);
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [p, f] of after) {
    const o = before.get(p);
    if (!o) added.push(p);
    else if (
      !sameDigests ||
      o.digest !== f.digest ||
      o.executable !== f.executable ||
      !!o.symlink !== !!f.symlink
    )
      changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) removed.push(p);
  const order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const diff: ManifestDiff = {
    added: added.sort(order),
    removed: removed.sort(order),
    changed: changed.sort(order),
  };
  if (older.mode !== newer.mode) diff.modeChanged = { from: older.mode, to: newer.mode };
  const extraAdded = newer.extra.filter((e) => !older.extra.includes(e));
  const extraRemoved = older.extra.filter((e) => !newer.extra.includes(e));
  const sameExtra =
    older.extra.length === newer.extra.length && older.extra.every((e, i) => e === newer.extra[i]);
  if (!sameExtra) diff.extraChanged = { added: extraAdded, removed: extraRemoved };
  return diff;
}

/**
 * Human-readable lines for a diff (for the `changed` output and the job summary): one line per file
 * (`added: x`, `removed: x`, `changed: x`), then a line for a mode or extra change.
 */
export function describeManifestDiff(d: ManifestDiff): string[] {
  const lines = [
    ...d.added.map((p) => `added: ${p}`),
    ...d.removed.map((p) => `removed: ${p}`),
    ...d.changed.map((p) => `changed: ${p}`),
  ];
  if (d.modeChanged) lines.push(`hash mode: ${d.modeChanged.from} -> ${d.modeChanged.to}`);
  if (d.extraChanged) {
    const parts = [
      ...d.extraChanged.added.map((e) => `+${JSON.stringify(e)}`),
      ...d.extraChanged.removed.map((e) => `-${JSON.stringify(e)}`),
    ];
    lines.push(`extra strings changed${parts.length ? `: ${parts.join(' ')}` : ' (order)'}`);
  }
  return lines;
}
