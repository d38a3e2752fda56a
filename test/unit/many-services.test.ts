import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUT, manyServicesFiles, serviceNames } from '../../scripts/many-services.js';

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

/**
 * examples/many-services is what scripts/many-services.ts writes: the committed directory and the
 * generator agree file for file (a hand edit, or a generator change not regenerated, fails here).
 */
describe('examples/many-services', () => {
  it('is exactly what scripts/many-services.ts writes (12 services)', async () => {
    const want = manyServicesFiles();
    expect(await filesUnder(DEFAULT_OUT)).toEqual([...want.keys()].sort());
    for (const [rel, text] of want) {
      expect(await readFile(path.join(DEFAULT_OUT, rel), 'utf8'), rel).toBe(text);
      if (rel.endsWith('.sh'))
        expect((await stat(path.join(DEFAULT_OUT, rel))).mode & 0o111, rel).not.toBe(0);
    }
  });

  it('has a Dockerfile on BASE_IMAGE and a manifest naming its repository for every service', () => {
    const files = manyServicesFiles();
    const names = serviceNames(12);
    expect(new Set(names).size).toBe(12);
    for (const n of names) {
      expect(files.get(`services/${n}/Dockerfile`)).toMatch(/^ARG BASE_IMAGE\nFROM \$\{BASE_IMAGE\}\n/);
      expect(files.get(`k8s/${n}.yaml`)).toContain(`image: 127.0.0.1:5000/many-services/${n}:latest`);
    }
  });

  it("grows to the talk's 30 with numbered names, and refuses a count that is no count", () => {
    const names = serviceNames(30);
    expect(names.slice(10, 14)).toEqual(['search', 'shipping', 'svc13', 'svc14']);
    expect(new Set(names).size).toBe(30);
    expect(() => manyServicesFiles(0)).toThrow(/--count: '0' is not a whole number from 1 to 200/);
    expect(() => manyServicesFiles(Number('x'))).toThrow(/--count/);
  });
});
