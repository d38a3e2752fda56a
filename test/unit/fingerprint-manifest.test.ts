import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { C2CError } from '../../src/core/errors.js';
import {
  decodeManifestLabel,
  describeManifestDiff,
  diffManifests,
  encodeManifestLabel,
  hashFiles,
  parseManifest,
  toManifest,
  writeManifest,
  type HashManifest,
} from '../../src/fingerprint/index.js';
import { makeTree, tempDir } from '../fixtures/fingerprint/tree.js';

const root = tempDir('c2c-manifest-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const d = (c: string) => c.repeat(64);

function manifest(over: Partial<HashManifest> = {}): HashManifest {
  return {
    version: 1,
    mode: 'content',
    hash: d('a'),
    extra: ['linux/amd64'],
    files: [
      { path: 'Dockerfile.base', digest: d('1'), executable: false },
      { path: 'bin/run', digest: d('2'), executable: true },
      { path: 'lnk', digest: d('3'), executable: false, symlink: true },
      { path: 'weird\nname', digest: d('4'), executable: false },
    ],
    ...over,
  };
}

describe('hash manifest', () => {
  it('round-trips a real result through the JSON file and the image label', async () => {
    const ws = makeTree(path.join(root, 'ws'), {
      'requirements.txt': 'x',
      'run.sh': { content: 'y', exec: true },
      l: { symlink: 'run.sh' },
    });
    const r = await hashFiles({ workspace: ws, patterns: ['**'], mode: 'content', extra: ['a', 'b'] });
    const m = toManifest(r);
    expect(m).toEqual({ version: 1, mode: 'content', hash: r.hash, extra: ['a', 'b'], files: r.files });
    const file = await writeManifest(m, path.join(root, 'out', 'nested'));
    expect(path.basename(file)).toBe(`hash-manifest-${r.hash.slice(0, 16)}.json`);
    expect(parseManifest(fs.readFileSync(file, 'utf8'))).toEqual(m);
    const label = encodeManifestLabel(m);
    expect(label).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(decodeManifestLabel(label)).toEqual(m);
    // Compact: smaller than the JSON for a realistic list.
    const big = manifest({
      files: Array.from({ length: 500 }, (_, i) => ({
        path: `deps/pkg${i}/requirements.txt`,
        digest: d('0'),
        executable: false,
      })),
    });
    expect(encodeManifestLabel(big).length).toBeLessThan(JSON.stringify(big).length / 5);
    expect(decodeManifestLabel(encodeManifestLabel(big))).toEqual(big);
    // An empty result is a valid manifest too.
    expect(parseManifest(JSON.stringify(manifest({ hash: '', files: [] }))).files).toEqual([]);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['version 2', JSON.stringify({ ...manifest(), version: 2 }), /unsupported version 2/],
    ['an unknown mode', JSON.stringify({ ...manifest(), mode: 'md5' }), /mode "md5"/],
    ['a short hash', JSON.stringify({ ...manifest(), hash: 'abc' }), /hash must be 64/],
    ['an unknown key', JSON.stringify({ ...manifest(), more: 1 }), /unknown key 'more'/],
    [
      'a missing key',
      JSON.stringify({ version: 1, mode: 'content', hash: d('a'), files: [] }),
      /has no 'extra'/,
    ],
    ['extra not strings', JSON.stringify({ ...manifest(), extra: [1] }), /extra must be an array of strings/],
    [
      'a bad digest',
      JSON.stringify(manifest({ files: [{ path: 'a', digest: 'xyz', executable: false }] })),
      /files\[0\]\.digest/,
    ],
    [
      'a file key too many',
      JSON.stringify(
        manifest({ files: [{ path: 'a', digest: d('1'), executable: false, size: 1 } as never] }),
      ),
      /unknown key 'size'/,
    ],
    [
      'an absolute path',
      JSON.stringify(manifest({ files: [{ path: '/etc/passwd', digest: d('1'), executable: false }] })),
      /not a workspace-relative path/,
    ],
    [
      'a .. path',
      JSON.stringify(manifest({ files: [{ path: 'a/../b', digest: d('1'), executable: false }] })),
      /not a workspace-relative path/,
    ],
    [
      'a duplicate path',
      JSON.stringify(
        manifest({
          files: [
            { path: 'a', digest: d('1'), executable: false },
            { path: 'a', digest: d('2'), executable: false },
          ],
        }),
      ),
      /appears twice/,
    ],
    [
      'executable not boolean',
      JSON.stringify(manifest({ files: [{ path: 'a', digest: d('1'), executable: 'yes' as never }] })),
      /executable must be/,
    ],
    [
      'symlink false',
      JSON.stringify(
        manifest({ files: [{ path: 'a', digest: d('1'), executable: false, symlink: false as never }] }),
      ),
      /symlink must be true/,
    ],
    ['an empty hash with files', JSON.stringify(manifest({ hash: '' })), /empty hash cannot list files/],
  ])('parseManifest refuses %s', (_what, text, message) => {
    expect(() => parseManifest(text)).toThrow(C2CError);
    expect(() => parseManifest(text)).toThrow(message);
  });

  it('accepts git object ids (sha1 and sha256) in git mode only', () => {
    const git = manifest({ mode: 'git', files: [{ path: 'a', digest: 'f'.repeat(40), executable: false }] });
    expect(parseManifest(JSON.stringify(git))).toEqual(git);
    expect(() => parseManifest(JSON.stringify({ ...git, mode: 'content' }))).toThrow(/64 lowercase hex/);
  });

  it('decodeManifestLabel refuses garbage, non-gzip data and a label that inflates a manifest that is not valid', () => {
    expect(() => decodeManifestLabel('not base64!')).toThrow(/not base64/);
    expect(() => decodeManifestLabel(Buffer.from('plain text, not gzip').toString('base64'))).toThrow(
      /not gzip/,
    );
    const bad = zlib.gzipSync(Buffer.from(JSON.stringify({ ...manifest(), version: 3 }))).toString('base64');
    expect(() => decodeManifestLabel(bad)).toThrow(/unsupported version 3/);
  });
});

describe('diffManifests', () => {
  it('lists added, removed and changed files (digest, executable bit, link-ness), in byte order', () => {
    const older = manifest();
    const newer = manifest({
      files: [
        { path: 'Dockerfile.base', digest: d('9'), executable: false }, // content changed
        { path: 'bin/run', digest: d('2'), executable: false }, // exec bit flipped
        { path: 'lnk', digest: d('3'), executable: false }, // was a symlink, now a file
        { path: 'new/b.txt', digest: d('5'), executable: false },
        { path: 'new/a.txt', digest: d('5'), executable: false },
      ],
    });
    const diff = diffManifests(older, newer);
    expect(diff).toEqual({
      added: ['new/a.txt', 'new/b.txt'],
      removed: ['weird\nname'],
      changed: ['Dockerfile.base', 'bin/run', 'lnk'],
    });
    expect(diffManifests(older, older)).toEqual({ added: [], removed: [], changed: [] });
  });

  it('reports a changed mode and changed extra strings', () => {
    const older = manifest();
    // content -> hashfiles: digests stay comparable (both sha256 of the content).
    const hf = diffManifests(older, manifest({ mode: 'hashfiles', extra: [] }));
    expect(hf.modeChanged).toEqual({ from: 'content', to: 'hashfiles' });
    expect(hf.changed).toEqual([]);
    expect(hf.extraChanged).toEqual({ added: [], removed: ['linux/amd64'] });
    // content -> git: object ids are not comparable with sha256, so every common file is changed.
    const git = manifest({
      mode: 'git',
      files: older.files.map((f) => ({ ...f, digest: 'e'.repeat(40) })),
    });
    const g = diffManifests(older, git);
    expect(g.modeChanged).toEqual({ from: 'content', to: 'git' });
    expect(g.changed).toHaveLength(4);
    const ex = diffManifests(older, manifest({ extra: ['linux/arm64'] }));
    expect(ex.extraChanged).toEqual({ added: ['linux/arm64'], removed: ['linux/amd64'] });
    expect(ex.modeChanged).toBeUndefined();
    expect(describeManifestDiff(ex)).toEqual(['extra strings changed: +"linux/arm64" -"linux/amd64"']);
    expect(describeManifestDiff(g)).toContain('hash mode: content -> git');
    expect(describeManifestDiff(diffManifests(older, manifest({ extra: [] })))).toEqual([
      'extra strings changed: -"linux/amd64"',
    ]);
  });
});
