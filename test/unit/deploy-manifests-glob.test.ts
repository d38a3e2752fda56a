// The glob of the `manifests` input (src/deploy/glob.ts, minimatch over a pruned walk, which runs on
// Node 20) gives what Node's own fs.glob (22+) gives, checked side by side here on Node 24.
import { glob as fsGlob, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globPaths } from '../../src/deploy/manifests/glob.js';

let top: string;
let ws: string;

beforeAll(async () => {
  top = await mkdtemp(path.join(os.tmpdir(), 'c2c-glob-'));
  ws = path.join(top, 'ws');
  const files = [
    'k8s/a-x.yaml',
    'k8s/b-x.yaml',
    'k8s/notes.txt',
    'k8s/sub/c.yaml',
    'k8s/sub/deeper/d.yml',
    'k8s/.hidden.yaml',
    '.github/workflows/ci.yaml',
    'overlays/prod/kustomization.yaml',
    'overlays/staging/kustomization.yaml',
    'a/one.yml',
    'b/two.yml',
    'c/three.yml',
    'with space/e.yaml',
    '../sibling/s.yaml',
  ];
  for (const f of files) {
    await mkdir(path.dirname(path.join(ws, f)), { recursive: true });
    await writeFile(path.join(ws, f), 'kind: ConfigMap\n');
  }
  await symlink(path.join(ws, 'k8s'), path.join(ws, 'linked'));
});
afterAll(async () => {
  await rm(top, { recursive: true, force: true });
});

async function nodeGlob(pattern: string): Promise<string[]> {
  const out: string[] = [];
  for await (const m of fsGlob(pattern, { cwd: ws })) out.push(path.resolve(ws, m));
  return out.sort();
}

describe('globPaths', () => {
  const patterns = [
    'k8s/*.yaml',
    'k8s/?-x.yaml',
    'k8s/[a]*',
    'k8s/**/*.yaml',
    '**/*.yml',
    '{a,b}/*.yml',
    'overlays/*',
    './k8s/*.yaml',
    'k8s/.*.yaml',
    'with space/*.yaml',
    '../sibling/*.yaml',
    'linked/*.yaml',
    'nothing/*.yaml',
  ];
  it.each(patterns)('%s: what fs.glob gives', async (pattern) => {
    const ours = (await globPaths(pattern, ws)).sort();
    expect(ours).toEqual(await nodeGlob(pattern));
  });

  it('matches absolute patterns', async () => {
    expect((await globPaths(`${ws}/k8s/*.yaml`, '/')).sort()).toEqual([
      path.join(ws, 'k8s/a-x.yaml'),
      path.join(ws, 'k8s/b-x.yaml'),
    ]);
  });

  it('does not enter hidden directories for **', async () => {
    const all = await globPaths('**/*.yaml', ws);
    expect(all.some((p) => p.includes('.github'))).toBe(false);
    expect(all).toContain(path.join(ws, 'k8s/sub/c.yaml'));
  });
});
