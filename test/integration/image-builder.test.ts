import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const DIR = path.join(import.meta.dirname, '../../infra/image-builder');
const ROOT = path.join(import.meta.dirname, '../..');

/**
 * Issue 17 item 2: the two EC2 Image Builder pipelines as code. The CloudFormation template is
 * linted by AWS's cfn-lint against the resource specifications (scripts/ensure-cfn-lint.sh; no AWS
 * account here to deploy it); the component documents are well formed, and the shell of every
 * ExecuteBash step is shellcheck-clean.
 */
describe('infra/image-builder', () => {
  const cfnLint = execFileSync(path.join(ROOT, 'scripts/ensure-cfn-lint.sh'), { encoding: 'utf8' }).trim();

  it('the template passes cfn-lint, and the linter finds a broken one (it is not a no-op)', async () => {
    const r = await run(cfnLint, [path.join(DIR, 'pipelines.yml')]).catch((e: { stdout: string }) => e);
    expect('stdout' in r ? r.stdout : '').toBe('');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-cfn-'));
    try {
      const bad = path.join(dir, 'bad.yml');
      await writeFile(
        bad,
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  P:\n    Type: AWS::ImageBuilder::ImagePipeline\n    Properties:\n      Name: p\n      Flavour: x\n',
      );
      const broken = await run(cfnLint, [bad]).then(
        () => ({ stdout: '' }),
        (e: { stdout: string }) => e,
      );
      expect(broken.stdout).toMatch(/Flavour/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the service image is built daily on the ingress image, and its AMIs are named for ami-name: minikube-service-*', async () => {
    const t = parse(await readFile(path.join(DIR, 'pipelines.yml'), 'utf8'), {
      customTags: ['!Ref', '!Sub', '!GetAtt'].map((tag) => ({ tag, resolve: (v: string) => `${tag} ${v}` })),
    }) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const r = t.Resources;
    expect(String(r.ServiceRecipe!.Properties.ParentImage)).toContain('image/minikube-ingress/x.x.x');
    expect(String(r.IngressRecipe!.Properties.ParentImage)).toContain('amazon-linux-2023-x86');
    expect(
      (r.ServicePipeline!.Properties.Schedule as { ScheduleExpression: string }).ScheduleExpression,
    ).toBe('cron(0 4 * * ? *)');
    const ami = (
      r.ServiceDistribution!.Properties.Distributions as Array<{
        AmiDistributionConfiguration: { Name: string };
      }>
    )[0]!.AmiDistributionConfiguration.Name;
    expect(ami).toMatch(/^minikube-service-/);
  });

  for (const file of ['minikube-ingress.yml', 'minikube-service.yml'])
    it(`${file}: a component document whose bash is shellcheck-clean`, async () => {
      const doc = parse(await readFile(path.join(DIR, file), 'utf8')) as {
        schemaVersion: number;
        phases: Array<{ name: string; steps: Array<{ action: string; inputs: { commands: string[] } }> }>;
      };
      expect(doc.schemaVersion).toBe(1);
      expect(doc.phases.map((p) => p.name)).toEqual(['build', 'validate']);
      for (const phase of doc.phases)
        for (const step of phase.steps) {
          expect(step.action).toBe('ExecuteBash');
          // The parameters as Image Builder substitutes them, then the step as the bash it runs.
          const script = `#!/bin/bash\n${step.inputs.commands
            .join('\n')
            .replaceAll(/\{\{ (\w+) \}\}/g, (_m, name: string) =>
              name === 'Images' ? 'shop-api:main shop-web:main' : `sample-${name}`,
            )}\n`;
          let found = '';
          try {
            execFileSync('shellcheck', ['-'], { input: script, encoding: 'utf8' });
          } catch (e) {
            found = String((e as { stdout?: string }).stdout ?? e);
          }
          expect(found, `${file} ${phase.name}`).toBe('');
        }
    });
});
