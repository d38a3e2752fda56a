import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type Repository,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEcrFake, type EcrFake } from '../fakes/ecr.js';
import { haveMoto, startMoto, type MotoServer } from '../helpers/moto.js';
import { haveTools } from '../helpers/tools.js';

/**
 * The ECR fake (test/fakes/ecr.ts) against moto, the AWS emulator, through the real AWS SDK: the
 * repository calls the registry client makes (DescribeRepositories, CreateRepository) answer alike,
 * the errors with the same types, and a repository keeps the imageTagMutability it was created with.
 */
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** What a call gave: the fields both must agree on, or the error's type. */
async function outcome(
  p: Promise<{ repository?: Repository; repositories?: Repository[] }>,
): Promise<unknown> {
  try {
    const r = await p;
    const pick = (x: Repository) => ({
      repositoryName: x.repositoryName,
      registryId: x.registryId,
      repositoryUri: x.repositoryUri,
      imageTagMutability: x.imageTagMutability,
      imageTagMutabilityExclusionFilters: x.imageTagMutabilityExclusionFilters,
    });
    return r.repository ? pick(r.repository) : (r.repositories ?? []).map(pick);
  } catch (e) {
    return { error: (e as Error).name };
  }
}

describe.skipIf(!haveMoto() || !haveTools('docker-registry'))('the ECR fake answers as moto does', () => {
  let moto: MotoServer;
  let fake: EcrFake;
  let clients: Record<'moto' | 'fake', ECRClient>;

  beforeAll(async () => {
    [moto, fake] = await Promise.all([startMoto({ region: REGION }), startEcrFake({ region: REGION })]);
    clients = {
      moto: new ECRClient({ endpoint: moto.endpoint, region: REGION, credentials: moto.credentials }),
      fake: new ECRClient({
        endpoint: fake.url,
        region: REGION,
        credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: fake.secretAccessKey },
      }),
    };
  });
  afterAll(async () => {
    await Promise.all([moto?.stop(), fake?.stop()]);
  });

  /** The same call on both; their outcomes, side by side. */
  async function both(
    call: (c: ECRClient) => Promise<{ repository?: Repository; repositories?: Repository[] }>,
  ): Promise<{ moto: unknown; fake: unknown }> {
    return { moto: await outcome(call(clients.moto)), fake: await outcome(call(clients.fake)) };
  }
  const create =
    (name: string, imageTagMutability?: string, filters?: Array<{ filterType: string; filter: string }>) =>
    (c: ECRClient) =>
      c.send(
        new CreateRepositoryCommand({
          registryId: ACCOUNT,
          repositoryName: name,
          // A value ECR refuses is sent as it is: the SDK does not check enums.
          ...(imageTagMutability ? { imageTagMutability: imageTagMutability as 'MUTABLE' } : {}),
          ...(filters
            ? { imageTagMutabilityExclusionFilters: filters as [{ filterType: 'WILDCARD'; filter: string }] }
            : {}),
        }),
      );
  const describeOne = (name: string) => (c: ECRClient) =>
    c.send(new DescribeRepositoriesCommand({ registryId: ACCOUNT, repositoryNames: [name] }));

  it('a repository that does not exist: RepositoryNotFoundException from both', async () => {
    const r = await both(describeOne('team/nowhere'));
    expect(r.fake).toEqual({ error: 'RepositoryNotFoundException' });
    expect(r.fake).toEqual(r.moto);
  });

  it('created without imageTagMutability: MUTABLE, as ECR defaults', async () => {
    const r = await both(create('team/default'));
    expect(r.fake).toMatchObject({ repositoryName: 'team/default', imageTagMutability: 'MUTABLE' });
    expect(r.fake).toEqual(r.moto);
    expect(await both(describeOne('team/default'))).toEqual({ moto: [r.moto], fake: [r.fake] });
  });

  it('created IMMUTABLE: it says so when created and when described', async () => {
    const r = await both(create('team/immutable', 'IMMUTABLE'));
    expect(r.fake).toMatchObject({ imageTagMutability: 'IMMUTABLE' });
    expect(r.fake).toEqual(r.moto);
    const d = await both(describeOne('team/immutable'));
    expect(d.fake).toEqual([expect.objectContaining({ imageTagMutability: 'IMMUTABLE' })]);
    expect(d.fake).toEqual(d.moto);
  });

  it('created twice, with a bad name, or with a mutability ECR does not know: the same error types', async () => {
    await both(create('team/twice'));
    const cases = [create('team/twice'), create('Team/Upper'), create('team/odd', 'SOMETIMES')];
    const results = [];
    for (const c of cases) results.push(await both(c));
    expect(results.map((r) => r.fake)).toEqual([
      { error: 'RepositoryAlreadyExistsException' },
      { error: 'InvalidParameterException' },
      { error: 'InvalidParameterException' },
    ]);
    expect(results.map((r) => r.fake)).toEqual(results.map((r) => r.moto));
  });

  it('created IMMUTABLE_WITH_EXCLUSION for the moving tags (what tagMutability asks for): kept as given', async () => {
    const filters = [{ filterType: 'WILDCARD', filter: 'latest' }];
    const r = await both(create('team/excluding', 'IMMUTABLE_WITH_EXCLUSION', filters));
    expect(r.fake).toMatchObject({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters,
    });
    expect(r.fake).toEqual(r.moto);
    const d = await both(describeOne('team/excluding'));
    expect(d.fake).toEqual(d.moto);
  });

  it('filters without an _WITH_EXCLUSION mutability, or such a mutability without filters, or a filter type ECR does not know: refused alike', async () => {
    const cases = [
      create('team/f1', 'IMMUTABLE', [{ filterType: 'WILDCARD', filter: 'latest' }]),
      create('team/f2', 'IMMUTABLE_WITH_EXCLUSION'),
      create('team/f3', 'IMMUTABLE_WITH_EXCLUSION', [{ filterType: 'REGEX', filter: 'latest' }]),
    ];
    const results = [];
    for (const c of cases) results.push(await both(c));
    expect(results.map((r) => r.fake)).toEqual(Array(3).fill({ error: 'InvalidParameterException' }));
    expect(results.map((r) => r.fake)).toEqual(results.map((r) => r.moto));
  });
});
