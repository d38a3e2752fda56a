import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { C2CError, InputError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import {
  kustomizeCommand,
  loadManifests,
  ManifestError,
  parseManifestText,
} from '../../src/deploy/manifests/load.js';
import { haveTools } from '../helpers/tools.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/manifests');
const load = (inputs: string[]) => loadManifests(inputs, { workspace: FIXTURES });
const names = (ms: Array<{ object: Record<string, unknown> }>) =>
  ms.map((m) => `${String(m.object.kind)}/${String((m.object.metadata as { name: string }).name)}`);

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('loadManifests: files', () => {
  it('reads a multi-document file, skipping empty and comment-only documents, with each start line', async () => {
    const ms = await load(['multi/app.yaml']);
    expect(names(ms)).toEqual(['ConfigMap/web-config', 'Deployment/web', 'Service/web']);
    expect(ms.map((m) => [m.file, m.line, m.index])).toEqual([
      ['multi/app.yaml', 4, 0],
      ['multi/app.yaml', 14, 1],
      ['multi/app.yaml', 39, 2],
    ]);
  });

  it('reads YAML scalars the way kubectl does (YAML 1.1: octal, yes; timestamps stay strings)', async () => {
    const [cm] = await load(['multi/app.yaml']);
    expect(cm!.object.data).toEqual({
      mode: 'production',
      permissions: 0o644,
      enabled: true,
      since: '2024-01-02',
    });
  });

  it('flattens List kinds into their items with the line of each item', async () => {
    const ms = await load(['list/list.yaml', 'json/objects.json']);
    expect(names(ms)).toEqual([
      'ConfigMap/first',
      'Secret/second',
      'ConfigMap/from-json-a',
      'ConfigMap/from-json-b',
    ]);
    expect(ms.map((m) => m.line)).toEqual([4, 10, 5, 10]);
    expect(ms[2]!.file).toBe('json/objects.json');
  });

  it('reads directories recursively in byte order of names, only .yaml/.yml/.json', async () => {
    const ms = await load(['tree']);
    expect(names(ms)).toEqual([
      'ConfigMap/b-upper',
      'ConfigMap/a-sub-one',
      'ConfigMap/b-sub-two',
      'ConfigMap/z-last',
    ]);
    expect(ms.map((m) => m.file)).toEqual([
      'tree/B-upper.yaml',
      'tree/a-sub/one.yml',
      'tree/b-sub/two.json',
      'tree/z-last.yaml',
    ]);
  });

  it('expands globs relative to the workspace, in sorted order, and reads a file once', async () => {
    const ms = await load(['tree/**/*.y*ml', 'tree/z-last.yaml']);
    expect(names(ms)).toEqual(['ConfigMap/b-upper', 'ConfigMap/a-sub-one', 'ConfigMap/z-last']);
    expect(ms.map((m) => m.index)).toEqual([0, 1, 2]);
  });

  it('accepts an absolute path', async () => {
    const ms = await load([path.join(FIXTURES, 'list/list.yaml')]);
    expect(ms[0]!.file).toBe('list/list.yaml');
  });
});

describe('loadManifests: bad input', () => {
  it('names the inputs that matched nothing (InputError on manifests)', async () => {
    const e = await failure(load(['nope/*.yaml', 'missing.yaml']));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).input).toBe('manifests');
    expect(e.message).toContain("nothing matched 'nope/*.yaml', 'missing.yaml'");
  });

  it('fails when one of several inputs matches nothing, even if others match', async () => {
    const e = await failure(load(['list/list.yaml', 'lsit/list.yaml']));
    expect(e).toBeInstanceOf(ManifestError);
    expect(e.message).toContain("'lsit/list.yaml' matched no file or directory");
  });

  it('rejects an empty input', async () => {
    const e = await failure(load(['  ', '']));
    expect((e as InputError).input).toBe('manifests');
  });

  it('reports unparsable YAML with the exact file, line and column', async () => {
    const e = await failure(load(['bad/malformed.yaml']));
    expect(e).toBeInstanceOf(C2CError);
    expect((e as C2CError).where).toEqual({ file: 'bad/malformed.yaml', line: 11, column: 1 });
    expect(e.message).toMatch(/^Input 'manifests': bad\/malformed\.yaml:11:1: invalid YAML: Flow map/);
    // The code excerpt of the yaml package stays, the duplicated position text goes.
    expect(e.message).toContain('labels: {app: broken');
    expect(e.message).not.toContain('at line 11');
  });

  it('reports an object without kind, apiVersion or metadata.name with file and line, naming the field', async () => {
    const e = (await failure(load(['bad/missing-kind.yaml']))) as ManifestError;
    expect(e).toBeInstanceOf(ManifestError);
    expect(e.problems.map((p) => [p.where, p.message.split(';')[0]])).toEqual([
      [{ file: 'bad/missing-kind.yaml', line: 6 }, 'object has no kind'],
      [{ file: 'bad/missing-kind.yaml', line: 12 }, 'Secret has no apiVersion, no metadata.name'],
    ]);
    expect(e.message).toContain('2 problems, nothing was applied');
    expect(e.message).toContain('bad/missing-kind.yaml:6: object has no kind');
  });

  it('collects every problem of every file before failing', async () => {
    const e = (await failure(
      load(['bad/malformed.yaml', 'bad/missing-kind.yaml', 'list/list.yaml', 'gone.yaml']),
    )) as ManifestError;
    expect(e.problems.map((p) => `${p.where?.file ?? ''}:${p.where?.line ?? ''}`)).toEqual([
      ':',
      'bad/malformed.yaml:11',
      'bad/missing-kind.yaml:6',
      'bad/missing-kind.yaml:12',
    ]);
    expect(e.where).toBeUndefined();
  });

  describe('in generated files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-manifests-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('rejects a document that is not a mapping, a duplicate object, duplicate keys, generateName', async () => {
      await writeFile(
        path.join(dir, 'odd.yaml'),
        [
          '- just',
          '- a list',
          '---',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: {name: twice}',
          '---',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: {name: twice}',
          '---',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: {name: a, name: b}',
          '---',
          'apiVersion: v1',
          'kind: Pod',
          'metadata: {generateName: p-}',
          '',
        ].join('\n'),
      );
      const e = (await failure(loadManifests(['odd.yaml'], { workspace: dir }))) as ManifestError;
      const byLine = e.problems.map((p) => [p.where?.line, p.message]);
      expect(byLine[0]).toEqual([1, expect.stringContaining('is a sequence, not a Kubernetes object')]);
      expect(byLine[1]).toEqual([14, expect.stringContaining('Map keys must be unique')]);
      expect(byLine[2]).toEqual([
        8,
        expect.stringContaining('ConfigMap/twice appears twice (also at odd.yaml:4)'),
      ]);
      expect(byLine[3]).toEqual([16, expect.stringContaining('generateName cannot be used with apply')]);
    });

    it('says when a directory holds no manifests, and when files hold only empty documents', async () => {
      await mkdir(path.join(dir, 'empty-dir'));
      await writeFile(path.join(dir, 'empty-dir', 'notes.txt'), 'x');
      const e1 = await failure(loadManifests(['empty-dir'], { workspace: dir }));
      expect(e1.message).toContain("directory 'empty-dir' holds no .yaml, .yml or .json files");
      await writeFile(path.join(dir, 'blank.yaml'), '# nothing\n---\n---\n');
      const e2 = await failure(loadManifests(['blank.yaml'], { workspace: dir }));
      expect(e2).toBeInstanceOf(InputError);
      expect(e2.message).toContain('hold no Kubernetes objects');
    });
  });
});

describe('parseManifestText', () => {
  it('gives the line of the first key, after comments and the --- marker', () => {
    const problems: C2CError[] = [];
    const out = parseManifestText(
      '\n\n# header\n---\n# about\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
      'f.yaml',
      problems,
    );
    expect(problems).toEqual([]);
    expect(out.map((o) => o.line)).toEqual([6]);
  });

  it('skips null documents and a List with no items', () => {
    const problems: C2CError[] = [];
    const out = parseManifestText(
      '~\n---\nnull\n---\napiVersion: v1\nkind: List\nitems: []\n',
      'f.yaml',
      problems,
    );
    expect(out).toEqual([]);
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!haveTools('kubectl'))('loadManifests: kustomize', () => {
  it('renders a kustomization directory with real kustomize and points at the kustomization file', async () => {
    const logger = memoryLogger();
    const ms = await loadManifests(['kustomize/overlay'], { workspace: FIXTURES, logger });
    expect(names(ms)).toEqual([
      expect.stringMatching(/^ConfigMap\/staging-api-settings-[a-z0-9]{10}$/),
      'Service/staging-api',
      'Deployment/staging-api',
    ]);
    expect(ms.every((m) => m.file === 'kustomize/overlay/kustomization.yaml' && m.line === 1)).toBe(true);
    expect(ms[2]!.kustomize).toEqual({ dir: 'kustomize/overlay', line: expect.any(Number) });
    expect((ms[2]!.object.metadata as { labels: unknown }).labels).toEqual({ env: 'staging' });
    expect(logger.text()).toMatch(/kustomize/);
  });

  it('renders a directory when the kustomization file itself is given, and a kustomize dir met while recursing', async () => {
    const a = await load(['kustomize/base/kustomization.yaml']);
    expect(names(a)).toEqual(['Service/api', 'Deployment/api']);
    const b = await load(['kustomize']);
    // kustomize/base and kustomize/overlay are each rendered; their YAML files are not read raw.
    expect(b.map((m) => m.file)).toEqual([
      'kustomize/base/kustomization.yaml',
      'kustomize/base/kustomization.yaml',
      'kustomize/overlay/kustomization.yaml',
      'kustomize/overlay/kustomization.yaml',
      'kustomize/overlay/kustomization.yaml',
    ]);
  });

  it('reports a kustomization kustomize cannot render, naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-kust-'));
    try {
      await writeFile(path.join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      const e = (await failure(loadManifests(['.'], { workspace: dir }))) as ManifestError;
      expect(e.problems[0]!.where).toEqual({ file: 'kustomization.yaml', line: 1 });
      expect(e.message).toContain("kustomize could not render '.':");
      expect(e.message).toContain('missing.yaml');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('kustomizeCommand', () => {
  it('prefers a standalone kustomize on PATH (kustomize build), else kubectl kustomize', async () => {
    const bin = await mkdtemp(path.join(os.tmpdir(), 'c2c-bin-'));
    try {
      const fake = path.join(bin, 'kustomize');
      await writeFile(fake, '#!/bin/sh\nexit 0\n');
      await chmod(fake, 0o755);
      const standalone = await kustomizeCommand({ PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` });
      expect(standalone.cmd).toBe(fake);
      expect(standalone.args('/d')).toEqual(['build', '/d']);
      if (haveTools('kubectl')) {
        const k = await kustomizeCommand({ PATH: process.env.PATH ?? '' });
        expect(path.basename(k.cmd)).toBe('kubectl');
        expect(k.args('/d')).toEqual(['kustomize', '/d']);
      }
      await expect(kustomizeCommand({ PATH: bin.replace(/$/, '-none') })).rejects.toThrow(/kubectl/);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
