import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withDefaults } from '../../src/core/input-spec.js';
import { DEPLOY_INPUTS, parseDeployInputs, type DeployRaw } from '../../src/deploy/inputs.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const ws = mkdtempSync(path.join(os.tmpdir(), 'c2c-deploy-inputs-'));
mkdirSync(path.join(ws, 'app'));
writeFileSync(path.join(ws, 'app/Dockerfile'), 'FROM scratch\n');
writeFileSync(path.join(ws, 'app/Containerfile.prod'), 'FROM scratch\n');
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const raw = (r: Partial<DeployRaw>) =>
  withDefaults(DEPLOY_INPUTS, { manifests: 'k8s/', ...r } as Record<string, string>);
const parse = (r: Partial<DeployRaw>, env: { sha?: string; awsRegion?: string } = { sha: SHA }) =>
  parseDeployInputs(raw(r), ws, env);

describe('parseDeployInputs', () => {
  it('defaults: pin, roll back, annotate, 10m, no dry run, no force, the default cluster', () => {
    const o = parse({});
    expect(o).toMatchObject({
      workspace: ws,
      manifests: ['k8s/'],
      images: [],
      pinDigests: true,
      rollbackOnFailure: true,
      annotate: true,
      dryRun: false,
      forceConflicts: false,
      timeoutMs: 600_000,
      cluster: { kind: 'default' },
    });
    expect(o.build).toBeUndefined();
    // The action.yml default '${{ github.token }}' unexpanded (outside a runner) is no token.
    expect(o.token).toBeUndefined();
  });

  it('manifests: newline-separated (a comma may be part of a glob)', () => {
    expect(parse({ manifests: 'k8s/\ndeploy/{a,b}.yaml\n' }).manifests).toEqual([
      'k8s/',
      'deploy/{a,b}.yaml',
    ]);
    expect(() => parse({ manifests: '\n \n' })).toThrow(/Input 'manifests': no file/);
  });

  it('images: registries with ports, digests; tag-less, malformed or contradicting entries are errors', () => {
    const o = parse({ images: `127.0.0.1:5000/shop/web:v2\nnginx@sha256:${'a'.repeat(64)}` });
    expect(o.images.map((i) => [i.registry, i.repository, i.tag, i.digest])).toEqual([
      ['127.0.0.1:5000', 'shop/web', 'v2', undefined],
      ['docker.io', 'library/nginx', undefined, `sha256:${'a'.repeat(64)}`],
    ]);
    expect(() => parse({ images: 'ghcr.io/org/app' })).toThrow(
      /Input 'images': 'ghcr.io\/org\/app' has no tag or digest/,
    );
    expect(() => parse({ images: 'ghcr.io/Org/App:1' })).toThrow(/Input 'images'/);
    expect(() => parse({ images: 'ghcr.io/org/app:1\nghcr.io/org/app:2' })).toThrow(
      /Input 'images'.*same repository with different versions/,
    );
  });

  it('timeout, booleans, builder, namespace: clear errors', () => {
    expect(parse({ timeout: '90s' }).timeoutMs).toBe(90_000);
    expect(() => parse({ timeout: 'soon' })).toThrow(/Input 'timeout'/);
    expect(() => parse({ timeout: '10' })).toThrow(/Input 'timeout': '10' has no unit/);
    expect(() => parse({ 'dry-run': 'yes please' })).toThrow(/Input 'dry-run'/);
    expect(() => parse({ 'pin-digests': 'maybe' })).toThrow(/Input 'pin-digests'/);
    expect(() => parse({ builder: 'kaniko' })).toThrow(/Input 'builder'/);
    expect(() => parse({ namespace: 'Prod_1' })).toThrow(
      /Input 'namespace': 'Prod_1' is not a valid namespace/,
    );
    expect(parse({ namespace: 'prod', 'force-conflicts': 'true' })).toMatchObject({
      namespace: 'prod',
      forceConflicts: true,
    });
  });

  it('build-context: image required, directory and Dockerfile checked, tag from the commit, base image as BASE_IMAGE', () => {
    const o = parse({
      'build-context': 'app',
      image: '127.0.0.1:5000/shop/web',
      'base-image': '127.0.0.1:5000/shop/base:deps-abc',
      'build-args': 'A=1',
    });
    expect(o.build).toMatchObject({
      context: path.join(ws, 'app'),
      dockerfile: path.join(ws, 'app/Dockerfile'),
      tag: 'sha-0123456789ab',
      builder: 'auto',
      buildArgs: [
        ['A', '1'],
        ['BASE_IMAGE', '127.0.0.1:5000/shop/base:deps-abc'],
      ],
    });
    expect(o.build!.image).toMatchObject({ registry: '127.0.0.1:5000', repository: 'shop/web' });
    // An explicit BASE_IMAGE build arg wins.
    expect(
      parse({
        'build-context': 'app',
        image: 'r.io/a',
        'base-image': 'r.io/b:1',
        'build-args': 'BASE_IMAGE=r.io/c:2',
      }).build!.buildArgs,
    ).toEqual([['BASE_IMAGE', 'r.io/c:2']]);
    expect(
      parse({ 'build-context': 'app', image: 'r.io/a', dockerfile: 'Containerfile.prod', tag: 'v1.2.3' })
        .build,
    ).toMatchObject({
      dockerfile: path.join(ws, 'app/Containerfile.prod'),
      tag: 'v1.2.3',
    });
    expect(() => parse({ 'build-context': 'app' })).toThrow(
      /Input 'image': is empty but 'build-context' is set/,
    );
    expect(() => parse({ image: 'r.io/a' })).toThrow(/Input 'build-context': is empty but 'image' is set/);
    expect(() => parse({ 'build-context': 'nope', image: 'r.io/a' })).toThrow(
      /Input 'build-context': 'nope' is not a directory/,
    );
    expect(() => parse({ 'build-context': 'app', image: 'r.io/a', dockerfile: 'Missing' })).toThrow(
      /Input 'dockerfile'/,
    );
    expect(() => parse({ 'build-context': 'app', image: 'r.io/a:v1' })).toThrow(/Input 'image'/);
    expect(() => parse({ 'build-context': 'app', image: 'r.io/a' }, {})).toThrow(
      /Input 'tag': is empty and the commit is unknown/,
    );
    expect(() => parse({ 'build-context': 'app', image: 'r.io/a', tag: '-bad' })).toThrow(/Input 'tag'/);
    expect(() => parse({ 'build-context': 'app', image: 'r.io/a', 'base-image': 'Bad Ref' })).toThrow(
      /Input 'base-image'/,
    );
  });

  it('cluster: kubeconfig, or EKS cluster-name with a region (input or AWS_REGION), never both', () => {
    expect(parse({ kubeconfig: 'apiVersion: v1\n' }).cluster).toEqual({
      kind: 'kubeconfig',
      content: 'apiVersion: v1\n',
    });
    expect(parse({ 'cluster-name': 'prod', 'aws-region': 'eu-west-1' }).cluster).toEqual({
      kind: 'eks',
      clusterName: 'prod',
      region: 'eu-west-1',
    });
    expect(parse({ 'cluster-name': 'prod' }, { sha: SHA, awsRegion: 'us-east-2' }).cluster).toMatchObject({
      region: 'us-east-2',
    });
    expect(() => parse({ 'cluster-name': 'prod' })).toThrow(/Input 'aws-region'/);
    expect(() =>
      parse({ kubeconfig: 'apiVersion: v1\n', 'cluster-name': 'prod', 'aws-region': 'eu-west-1' }),
    ).toThrow(/Input 'kubeconfig': and 'cluster-name' are both set/);
  });

  it('registry credentials, environment URL, token', () => {
    expect(() => parse({ 'registry-password': 'pw' })).toThrow(/Input 'registry-username'/);
    expect(parse({ 'registry-username': 'u', 'registry-password': 'pw' })).toMatchObject({
      username: 'u',
      password: 'pw',
    });
    expect(() => parse({ 'environment-url': 'shop.example.com' })).toThrow(/Input 'environment-url'/);
    expect(
      parse({ environment: ' production ', 'environment-url': 'https://shop.example.com', token: 'ghs_x' }),
    ).toMatchObject({
      environment: 'production',
      environmentUrl: 'https://shop.example.com',
      token: 'ghs_x',
    });
  });
});
