import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: the rule is plain JavaScript (eslint-rules/), without types.
import { requiredFace } from '../../eslint-rules/faces.js';

/** The rule that keeps rooms apart (eslint.config.js: local/faces), on real files of the tree. */
describe('lint: another room of src/ only through its face', () => {
  const src = path.resolve('src');
  const face = (importer: string, target: string) =>
    requiredFace(path.join(src, importer), path.join(src, target)) as string | undefined;

  it('allows files of the same folder, of the folders above, and the faces of other rooms', () => {
    expect(face('deploy/run.ts', 'deploy/plan.js')).toBeUndefined();
    expect(face('featureenv/db/rds.ts', 'featureenv/types.js')).toBeUndefined();
    expect(face('featureenv/up.ts', 'deploy/index.js')).toBeUndefined();
    expect(face('featureenv/up.ts', 'featureenv/db/index.js')).toBeUndefined();
    expect(face('actions/hash-base/main.ts', 'actions/shared/index.js')).toBeUndefined();
  });

  it('refuses a file inside another room, naming the face to use', () => {
    expect(face('featureenv/up.ts', 'deploy/manifests.js')).toBe(path.join(src, 'deploy'));
    expect(face('deploy/run.ts', 'core/errors.js')).toBe(path.join(src, 'core'));
    expect(face('featureenv/up.ts', 'featureenv/db/rds.js')).toBe(path.join(src, 'featureenv/db'));
    expect(face('cli/main.ts', 'cli/commands/deploy.js')).toBe(path.join(src, 'cli/commands'));
  });

  it('is on in the lint configuration: a reach inside is an error there', async () => {
    const eslint = new ESLint();
    const [r] = await eslint.lintText(
      "import { loadManifests } from '../deploy/manifests.js';\nloadManifests;\n",
      {
        filePath: path.join(src, 'featureenv/probe.ts'),
      },
    );
    expect(r!.messages.map((m) => m.ruleId)).toContain('local/faces');
    expect(r!.messages.find((m) => m.ruleId === 'local/faces')!.message).toContain(
      "import it from '../deploy/index.js'",
    );
    const [ok] = await eslint.lintText(
      "import { loadManifests } from '../deploy/index.js';\nloadManifests;\n",
      {
        filePath: path.join(src, 'featureenv/probe.ts'),
      },
    );
    expect(ok!.messages.filter((m) => m.ruleId === 'local/faces')).toEqual([]);
  });
});
