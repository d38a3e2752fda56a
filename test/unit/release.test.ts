import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** Release hygiene: what .github/workflows/release.yml checks at tag time, checked on every commit. */
describe('release hygiene', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; license: string };
  it('package.json has a semver version with a CHANGELOG entry, and a LICENSE of the same kind', () => {
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(readFileSync('CHANGELOG.md', 'utf8')).toMatch(
      new RegExp(`^## \\[${pkg.version.replaceAll('.', '\\.')}\\]`, 'm'),
    );
    expect(readFileSync('LICENSE', 'utf8')).toMatch(new RegExp(`^${pkg.license} License`));
  });
  it('CI runs .ci/run, and the release moves the major tag for vX.Y.Z tags only', () => {
    const ci = parse(readFileSync('.github/workflows/ci.yml', 'utf8')) as {
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    expect(
      Object.values(ci.jobs)
        .flatMap((j) => j.steps.map((s) => s.run ?? ''))
        .join('\n'),
    ).toMatch(/\.ci\/run/);
    const rel = parse(readFileSync('.github/workflows/release.yml', 'utf8')) as {
      on: { push: { tags: string[] } };
    };
    expect(rel.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    expect(readFileSync('.github/workflows/release.yml', 'utf8')).toMatch(/git tag -f "\$major"/);
  });
});
