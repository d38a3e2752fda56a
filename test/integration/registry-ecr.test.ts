import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { memoryLogger } from '../../src/core/logger.js';
import { C2CError } from '../../src/core/errors.js';
import { connectRegistry, OCI_MANIFEST } from '../../src/registry/index.js';
import { haveTools } from '../helpers/tools.js';
import { startEcrFake, type EcrFake } from '../fakes/ecr.js';
import { pushTestImage } from '../helpers/oci.js';

describe.skipIf(!haveTools('docker-registry'))(
  'registry client: ECR through the real AWS SDK and the loopback ECR endpoint',
  () => {
    let ecr: EcrFake;
    const saved: Record<string, string | undefined> = {};
    const setEnv = (env: Record<string, string | undefined>) => {
      for (const [k, v] of Object.entries(env)) {
        if (!(k in saved)) saved[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };

    beforeAll(async () => {
      ecr = await startEcrFake();
      setEnv({ ...ecr.env, AWS_PROFILE: undefined, AWS_SESSION_TOKEN: undefined });
    });
    afterEach(() => {
      setEnv(ecr.env);
      ecr.calls.length = 0;
    });
    afterAll(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await ecr?.stop();
    });

    it('logs in with GetAuthorizationToken and sends HTTP to its proxyEndpoint', async () => {
      const logger = memoryLogger();
      const r = await connectRegistry(ecr.host, { logger });
      expect(r.host).toBe(ecr.host);
      expect(r.endpoint.origin).toBe(ecr.endpoint.url);
      expect(r.endpointHost).toBe(ecr.endpoint.host);
      expect(r.insecure).toBe(true);
      expect(await r.credentials()).toEqual({
        username: 'AWS',
        password: ecr.registry.password,
        source: 'ECR GetAuthorizationToken',
      });
      expect(ecr.calls).toEqual([
        { op: 'GetAuthorizationToken', input: {}, accessKeyId: ecr.accessKeyId, status: 200 },
      ]);
    });

    it('creates the repository when missing, once; an existing one is only described', async () => {
      const r = await connectRegistry(ecr.host, { logger: memoryLogger() });
      ecr.calls.length = 0;
      await r.ensureRepository('team/app-base');
      expect(ecr.calls.map((c) => [c.op, c.status, c.errorType])).toEqual([
        ['DescribeRepositories', 400, 'RepositoryNotFoundException'],
        ['CreateRepository', 200, undefined],
      ]);
      expect(ecr.calls[1]!.input).toMatchObject({
        repositoryName: 'team/app-base',
        registryId: ecr.accountId,
      });
      // Content-addressed tags are never moved: the repository refuses to move any tag.
      expect(ecr.repositories.get('team/app-base')!.imageTagMutability).toBe('IMMUTABLE');
      await r.ensureRepository('team/app-base');
      expect(ecr.calls).toHaveLength(2);

      const again = await connectRegistry(ecr.host, { logger: memoryLogger() });
      ecr.calls.length = 0;
      await again.ensureRepository('team/app-base');
      expect(ecr.calls.map((c) => [c.op, c.status])).toEqual([['DescribeRepositories', 200]]);
    });

    it('a repository that moving tags also go to is IMMUTABLE with those tags excepted; more than ECR can except: MUTABLE', async () => {
      const r = await connectRegistry(ecr.host, { logger: memoryLogger() });
      await r.ensureRepository('team/with-latest', ['latest', 'latest', 'stable']);
      expect(ecr.repositories.get('team/with-latest')).toMatchObject({
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [
          { filterType: 'WILDCARD', filter: 'latest' },
          { filterType: 'WILDCARD', filter: 'stable' },
        ],
      });
      await r.ensureRepository('team/many', ['a', 'b', 'c', 'd', 'e', 'f']);
      expect(ecr.repositories.get('team/many')!.imageTagMutability).toBe('MUTABLE');
    });

    it('HEAD through the proxyEndpoint: present and absent tags; labels via imageConfig; a push with the ECR token', async () => {
      ecr.addRepository('svc/api');
      const img = await pushTestImage(ecr.registry, 'svc/api', 'deps-1', { labels: { from: 'ecr' } });
      const r = await connectRegistry(ecr.host, { logger: memoryLogger() });
      expect(await r.head('svc/api', 'deps-1')).toMatchObject({
        digest: img.digest,
        mediaType: OCI_MANIFEST,
      });
      expect(await r.head('svc/api', 'deps-2')).toBeUndefined();
      expect((await r.imageConfig('svc/api', 'deps-1')).labels).toEqual({ from: 'ecr' });
      expect(await r.putManifest('svc/api', 'latest', JSON.stringify(img.manifest), OCI_MANIFEST)).toBe(
        img.digest,
      );

      // The fake's DescribeImages (read through the SDK) agrees with the registry.
      const sdk = new ECRClient({ region: ecr.region });
      const out = await sdk.send(
        new DescribeImagesCommand({ repositoryName: 'svc/api', imageIds: [{ imageTag: 'deps-1' }] }),
      );
      expect(out.imageDetails?.[0]?.imageDigest).toBe(img.digest);
      const missing = await sdk
        .send(new DescribeImagesCommand({ repositoryName: 'svc/api', imageIds: [{ imageTag: 'nope' }] }))
        .catch((e) => e);
      expect(missing.name).toBe('ImageNotFoundException');
      sdk.destroy();
    });

    it('no secret reaches the log: not the password, not the authorization token, not the AWS secret key', async () => {
      const logger = memoryLogger();
      const r = await connectRegistry(ecr.host, { logger });
      await r.ensureRepository('sec/app');
      await r.head('sec/app', 'v1');
      const creds = await r.credentials();
      // Whatever the engine or a builder would print later comes out masked.
      logger.info(`docker login -u AWS -p ${creds!.password}`);
      logger.info(`token ${Buffer.from(`AWS:${creds!.password}`).toString('base64')}`);
      const text = logger.text();
      expect(text).toContain('docker login -u AWS -p ***');
      expect(text).not.toContain(ecr.registry.password!);
      expect(text).not.toContain(Buffer.from(`AWS:${ecr.registry.password}`).toString('base64'));
      expect(text).not.toContain(ecr.secretAccessKey);
    });

    it('throttling from ECR is retried by the retry helper (the SDK retries are off)', async () => {
      ecr.failNext('GetAuthorizationToken', 2, 400, 'ThrottlingException');
      const r = await connectRegistry(ecr.host, { logger: memoryLogger(), retry: { baseDelayMs: 10 } });
      expect(r.endpointHost).toBe(ecr.endpoint.host);
      expect(ecr.calls.map((c) => c.status)).toEqual([400, 400, 200]);
    });

    it('a wrong secret key: a clear error saying AWS refused the credentials, no secret in it', async () => {
      setEnv({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-key-123' });
      const err = await connectRegistry(ecr.host, { logger: memoryLogger() }).catch((e) => e);
      expect(err).toBeInstanceOf(C2CError);
      expect(err.message).toContain(`ECR GetAuthorizationToken for ${ecr.host}`);
      expect(err.message).toContain('AWS refused the credentials');
      expect(err.message).toContain('InvalidSignatureException');
      expect(err.message).not.toContain('wrong-secret-key-123');
      expect(ecr.calls.map((c) => c.errorType)).toEqual(['InvalidSignatureException']);
    });

    it('an unknown access key: UnrecognizedClientException, reported as refused credentials', async () => {
      setEnv({ AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000000' });
      const err = await connectRegistry(ecr.host, { logger: memoryLogger() }).catch((e) => e);
      expect(err.message).toContain('AWS refused the credentials');
      expect(err.message).toContain('UnrecognizedClientException');
    });

    it('the fake behaves like ECR for unsigned requests and unknown repositories', async () => {
      const unsigned = await fetch(ecr.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
        },
        body: '{}',
      });
      expect(unsigned.status).toBe(403);
      expect(((await unsigned.json()) as { __type: string }).__type).toBe(
        'MissingAuthenticationTokenException',
      );
      const sdk = new ECRClient({ region: ecr.region });
      const err = await sdk
        .send(new DescribeRepositoriesCommand({ repositoryNames: ['no/such'] }))
        .catch((e) => e);
      expect(err.name).toBe('RepositoryNotFoundException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toContain("The repository with name 'no/such' does not exist");
      sdk.destroy();
    });
  },
);
