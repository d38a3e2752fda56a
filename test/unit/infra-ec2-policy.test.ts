import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * infra/ec2/runner-policy.json is the IAM policy the README gives for `isolation: ec2`: it must
 * allow every EC2 and SSM call the provider makes (read from its source, so a new call without its
 * permission fails here), and infra/ec2/instance-policy.json what the user data does on the instance.
 */
const ROOT = path.join(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
type Statement = { Effect: string; Action: string | string[]; Resource: string | string[] };
const allowed = (file: string): Set<string> =>
  new Set(
    (JSON.parse(read(file)) as { Statement: Statement[] }).Statement.filter(
      (s) => s.Effect === 'Allow',
    ).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])),
  );

/** The SDK commands a source file sends, as IAM actions (ec2:RunInstances, ssm:GetParameter). */
function callsOf(file: string): string[] {
  const src = read(file);
  const service = (name: string) =>
    new RegExp(`import \\{[^}]*\\b${name}Command\\b[^}]*\\} from '@aws-sdk/client-(\\w+)'`).exec(src)?.[1];
  return [...new Set([...src.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!))].map(
    (name) => `${service(name)}:${name}`,
  );
}

describe('infra/ec2: the IAM policies of isolation: ec2', () => {
  it("the runner's policy allows every EC2 and SSM call of the provider, and the PassRole of its instance profile", () => {
    const calls = callsOf('src/featureenv/machine/ec2.ts');
    expect(calls.length).toBeGreaterThan(10);
    expect(calls.every((c) => /^(ec2|ssm):/.test(c))).toBe(true);
    const policy = allowed('infra/ec2/runner-policy.json');
    expect(calls.filter((c) => !policy.has(c))).toEqual([]);
    expect(policy.has('iam:PassRole')).toBe(true);
    expect(policy.has('kms:Decrypt')).toBe(true);
  });

  it("the instance's policy allows what its user data does: pull from ECR, publish the kubeconfig", () => {
    const script = read('infra/ec2/user-data.sh');
    expect(script).toMatch(/aws ssm put-parameter/);
    expect(script).toMatch(/aws ecr get-login-password/);
    const policy = allowed('infra/ec2/instance-policy.json');
    for (const a of [
      'ssm:PutParameter',
      'ecr:GetAuthorizationToken',
      'ecr:BatchGetImage',
      'ecr:GetDownloadUrlForLayer',
      'kms:Encrypt',
    ])
      expect(policy.has(a), a).toBe(true);
  });
});
