import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ACTIONS } from '../../src/actions/meta/index.js';
import { END, START, renderActionYml, renderTables } from '../../scripts/gen-docs.js';
import { ROOT } from '../e2e/runner.js';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('action.yml, README and code agree', () => {
  for (const a of ACTIONS) {
    describe(a.dir, () => {
      const yml = readFileSync(path.join(ROOT, a.dir, 'action.yml'), 'utf8');
      const parsed = YAML.parse(yml) as {
        inputs: Record<string, { description: string; required: boolean; default?: string }>;
        outputs: Record<string, { description: string }>;
        runs: { using: string; main: string };
        branding: unknown;
      };

      it('action.yml is the one generated from the code (npm run docs)', () => {
        expect(yml).toBe(renderActionYml(a));
      });

      it('declares exactly the inputs the code reads, each described, optional ones with a default', () => {
        expect(Object.keys(parsed.inputs).sort()).toEqual(Object.keys(a.inputs).sort());
        for (const [name, def] of Object.entries(parsed.inputs)) {
          expect(def.description, name).toBeTruthy();
          if (!def.required) expect(def.default, name).toBe(a.inputs[name]!.default ?? '');
        }
        expect(Object.keys(parsed.outputs).sort()).toEqual(Object.keys(a.outputs).sort());
        expect(parsed.runs.using).toBe('node24');
        expect(parsed.branding).toBeTruthy();
      });

      it('the README table matches action.yml', () => {
        const readme = readFileSync(path.join(ROOT, a.dir, 'README.md'), 'utf8');
        const block = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END)).trim();
        expect(block).toBe(renderTables(a).trim());
        for (const name of Object.keys(parsed.inputs)) expect(block).toContain(`| \`${name}\` |`);
      });
    });
  }

  it('the tests run on Node 24, the runtime the actions declare (runs.using: node24)', () => {
    expect(Number(process.versions.node.split('.')[0]), `tests ran on Node ${process.version}`).toBe(24);
  });

  it('no code reads an input except through readInputs(spec)', () => {
    const offenders = walk(path.join(ROOT, 'src'))
      .filter((f) => !f.endsWith(path.join('actions', 'runtime.ts')))
      .filter((f) => /\bget(Boolean|Multiline)?Input\(|process\.env\.INPUT_/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('each action entry reads its inputs once, from its spec', () => {
    for (const a of ACTIONS) {
      const main = readFileSync(
        path.join(ROOT, 'src/actions', a.dir.replace(/^action-/, ''), 'main.ts'),
        'utf8',
      );
      expect(main.match(/readInputs\(/g)?.length, a.dir).toBe(1);
    }
  });
});
