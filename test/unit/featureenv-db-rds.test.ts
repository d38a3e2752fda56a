import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AddTagsToResourceCommand,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InsufficientDBInstanceCapacityFault,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RDSServiceException,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
  type DBSnapshot,
  type Tag,
} from '@aws-sdk/client-rds';
import { memoryLogger } from '../../src/core/logger.js';
import { C2CError } from '../../src/core/errors.js';
import {
  CLAIM_TAG_PREFIX,
  POOL_TAG,
  SET_TAG,
  SNAPSHOT_TAG,
  SNAPSHOT_TIME_TAG,
  PR_TAG,
  rdsSnapshotProvider,
  type RdsProviderOptions,
} from '../../src/featureenv/db/rds.js';

/**
 * What moto cannot show: instances that take time (creating → available, resetting-master-credentials),
 * restores that fail, claimers that collide, throttling. An in-memory RDS behind the real SDK client,
 * its `send` replaced by aws-sdk-client-mock.
 */
interface FakeInstance {
  id: string;
  /** The statuses that successive DescribeDBInstances of this instance show; the last one stays. */
  statuses: string[];
  tags: Map<string, string>;
  extra?: Partial<DBInstance>;
}

const SOURCE = 'integration-db';
const SET = 'acme-shop-0123456789';
const arnOf = (id: string) => `arn:aws:rds:eu-west-1:123456789012:db:${id}`;
const idOf = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
const awsError = (name: string, message: string, status = 400) =>
  new RDSServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: status } });

function fakeRds() {
  const client = new RDSClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' },
  });
  const mock = mockClient(client);
  const instances = new Map<string, FakeInstance>();
  const state = {
    instances,
    snapshots: [
      {
        DBSnapshotIdentifier: 'rds:integration-db-2025-01-01-03-00',
        SnapshotType: 'automated',
        Status: 'available',
        SnapshotCreateTime: new Date('2025-01-01T03:00:00Z'),
      },
    ] as DBSnapshot[],
    /** What a restored instance goes through. */
    restoreStatuses: ['creating', 'available'],
    /** What a new master password makes an instance go through. */
    modifyStatuses: ['resetting-master-credentials', 'available'],
    passwords: new Map<string, string>(),
    /** Runs after every AddTagsToResource (a concurrent claimer's write, say). */
    afterAddTags: (_id: string, _keys: string[]) => {},
  };
  const view = (f: FakeInstance): DBInstance => ({
    DBInstanceIdentifier: f.id,
    DBInstanceArn: arnOf(f.id),
    DBInstanceStatus: f.statuses[0],
    Engine: 'postgres',
    MasterUsername: 'app',
    DBName: 'shop',
    Endpoint: { Address: `${f.id}.abc.eu-west-1.rds.amazonaws.com`, Port: 5432 },
    TagList: [...f.tags].map(([Key, Value]) => ({ Key, Value })),
    ...f.extra,
  });
  mock.on(DescribeDBInstancesCommand).callsFake(async (input) => {
    if (input.DBInstanceIdentifier) {
      const f = instances.get(input.DBInstanceIdentifier);
      if (!f)
        throw new DBInstanceNotFoundFault({
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
          $metadata: { httpStatusCode: 404 },
        });
      const out = view(f);
      if (f.statuses.length > 1) f.statuses.shift();
      return { DBInstances: [out] };
    }
    return { DBInstances: [...instances.values()].map(view) };
  });
  mock.on(DescribeDBSnapshotsCommand).callsFake(async () => ({ DBSnapshots: state.snapshots }));
  mock.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake(async (input) => {
    const f: FakeInstance = {
      id: input.DBInstanceIdentifier!,
      statuses: [...state.restoreStatuses],
      tags: new Map((input.Tags ?? []).map((t: Tag) => [t.Key!, t.Value!])),
    };
    instances.set(f.id, f);
    return { DBInstance: view(f) };
  });
  mock.on(AddTagsToResourceCommand).callsFake(async (input) => {
    const f = instances.get(idOf(input.ResourceName!))!;
    for (const t of input.Tags ?? []) f.tags.set(t.Key!, t.Value!);
    state.afterAddTags(
      f.id,
      (input.Tags ?? []).map((t: Tag) => t.Key!),
    );
    return {};
  });
  mock.on(ListTagsForResourceCommand).callsFake(async (input) => ({
    TagList: [...instances.get(idOf(input.ResourceName!))!.tags].map(([Key, Value]) => ({ Key, Value })),
  }));
  mock.on(RemoveTagsFromResourceCommand).callsFake(async (input) => {
    const f = instances.get(idOf(input.ResourceName!))!;
    for (const k of input.TagKeys ?? []) f.tags.delete(k);
    return {};
  });
  mock.on(ModifyDBInstanceCommand).callsFake(async (input) => {
    const f = instances.get(input.DBInstanceIdentifier!)!;
    state.passwords.set(f.id, input.MasterUserPassword!);
    f.statuses = [...state.modifyStatuses];
    return { DBInstance: view(f) };
  });
  mock.on(DeleteDBInstanceCommand).callsFake(async (input) => {
    const f = instances.get(input.DBInstanceIdentifier!);
    if (!f) throw new DBInstanceNotFoundFault({ message: 'not found', $metadata: { httpStatusCode: 404 } });
    f.statuses = ['deleting'];
    return { DBInstance: view(f) };
  });
  // The source instance, where restores go.
  instances.set(SOURCE, {
    id: SOURCE,
    statuses: ['available'],
    tags: new Map(),
    extra: {
      DBSubnetGroup: { DBSubnetGroupName: 'private-db-subnets' },
      VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0db', Status: 'active' }],
      DBParameterGroups: [{ DBParameterGroupName: 'shop-pg15', ParameterApplyStatus: 'in-sync' }],
      PubliclyAccessible: false,
    },
  });
  const member = (id: string, status: string, tags: Record<string, string> = {}) =>
    instances.set(id, {
      id,
      statuses: [status],
      tags: new Map(Object.entries({ [POOL_TAG]: SOURCE, [SET_TAG]: SET, ...tags })),
    });
  return { client, mock, state, member };
}

describe('rds-snapshot provider: states, failures and collisions (aws-sdk-client-mock)', () => {
  let rds: ReturnType<typeof fakeRds>;
  let clock: number;
  let sleeps: number[];
  const provider = (pool = 1, opts: RdsProviderOptions = {}) =>
    rdsSnapshotProvider(
      { sourceInstance: SOURCE, instanceClass: 'db.t4g.micro', pool, region: 'eu-west-1', set: SET },
      {
        client: rds.client,
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
        pollMs: 15_000,
        settleMs: 0,
        retry: { baseDelayMs: 1, sleep: async () => {} },
        ...opts,
      },
    );
  const calls = <T>(cmd: new (...a: never[]) => T) =>
    rds.mock.commandCalls(cmd as never).map((c) => (c.args[0] as { input: Record<string, unknown> }).input);

  beforeEach(() => {
    rds = fakeRds();
    clock = Date.parse('2025-06-01T12:00:00Z');
    sleeps = [];
  });

  it('an empty pool: restores for the PR, waits through creating → backing-up → available with a line per state, then sets the password', async () => {
    rds.state.restoreStatuses = ['creating', 'creating', 'backing-up', 'backing-up', 'available'];
    const logger = memoryLogger();
    const info = await provider().claim({ number: 42, namespace: 'fe-pr-42' }, logger);
    expect(info.id).toMatch(/^fe-integration-db-[a-z0-9]{6}$/);
    expect(info).toMatchObject({
      host: `${info.id}.abc.eu-west-1.rds.amazonaws.com`,
      port: 5432,
      database: 'shop',
      user: 'app',
    });
    const lines = logger.lines.filter((l) => l.message.startsWith(`RDS ${info.id}:`)).map((l) => l.message);
    expect(lines).toEqual([
      `RDS ${info.id}: creating, waiting for available (0s so far, at most 40m00s)`,
      `RDS ${info.id}: backing-up, waiting for available (30s so far, at most 40m00s)`,
      `RDS ${info.id}: available after 1m00s`,
      `RDS ${info.id}: resetting-master-credentials, waiting for the new master password (0s so far, at most 40m00s)`,
      `RDS ${info.id}: available after 15s`,
    ]);
    // The restore: the newest snapshot, the class, pool and PR tags, where the source lives.
    const [restore] = calls(RestoreDBInstanceFromDBSnapshotCommand);
    expect(restore).toMatchObject({
      DBInstanceIdentifier: info.id,
      DBSnapshotIdentifier: 'rds:integration-db-2025-01-01-03-00',
      DBInstanceClass: 'db.t4g.micro',
      DBSubnetGroupName: 'private-db-subnets',
      VpcSecurityGroupIds: ['sg-0db'],
      DBParameterGroupName: 'shop-pg15',
      PubliclyAccessible: false,
      DeletionProtection: false,
    });
    expect(rds.state.instances.get(info.id)!.tags.get(PR_TAG)).toMatch(/^42:[0-9a-f]{12}:[0-9]+$/);
    // The password: generated, set with ApplyImmediately, returned, never logged.
    expect(calls(ModifyDBInstanceCommand)).toEqual([
      { DBInstanceIdentifier: info.id, MasterUserPassword: info.password, ApplyImmediately: true },
    ]);
    expect(info.password).toMatch(/^[A-Za-z0-9]{28}$/);
    expect(logger.text()).not.toContain(info.password);
  });

  it('a long wait speaks at least once a minute', async () => {
    rds.state.restoreStatuses = [...Array(20).fill('creating'), 'available'];
    const logger = memoryLogger();
    await provider().claim({ number: 1, namespace: 'fe-pr-1' }, logger);
    const creating = logger.lines.filter((l) => / creating, waiting for available/.test(l.message));
    expect(creating.map((l) => /\((.*) so far/.exec(l.message)![1])).toEqual([
      '0s',
      '1m00s',
      '2m00s',
      '3m00s',
      '4m00s',
    ]);
  });

  it('a restore that is not available in time: a clear error, and the instance stays the PR’s for the next run', async () => {
    rds.state.restoreStatuses = ['creating'];
    const err = await provider(1, { waitTimeoutMs: 10 * 60_000, pollMs: 60_000 })
      .claim({ number: 7, namespace: 'fe-pr-7' }, memoryLogger())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(C2CError);
    const id = calls(RestoreDBInstanceFromDBSnapshotCommand)[0]!.DBInstanceIdentifier as string;
    expect((err as Error).message).toBe(
      `RDS instance ${id} was still 'creating' after 10m00s of waiting for available. It stays PR 7's: the next run for PR 7 waits for it again, and down deletes it`,
    );
    expect(clock - Date.parse('2025-06-01T12:00:00Z')).toBe(10 * 60_000);
    expect(calls(DeleteDBInstanceCommand)).toEqual([]);
    // The next claim finds it, and goes on waiting (no second restore).
    rds.state.instances.get(id)!.statuses = ['available'];
    const info = await provider().claim({ number: 7, namespace: 'fe-pr-7' }, memoryLogger());
    expect(info.id).toBe(id);
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(1);
  });

  it('a failing restore (incompatible-restore): says what it means, deletes the instance', async () => {
    rds.state.restoreStatuses = ['creating', 'incompatible-restore'];
    const err = await provider()
      .claim({ number: 8, namespace: 'fe-pr-8' }, memoryLogger())
      .catch((e: unknown) => e);
    const id = calls(RestoreDBInstanceFromDBSnapshotCommand)[0]!.DBInstanceIdentifier as string;
    expect((err as Error).message).toBe(
      `RDS instance ${id} of PR 8 is 'incompatible-restore': RDS could not restore the snapshot (e.g. an instance class the engine version does not support). It is being deleted; the next run restores or claims another`,
    );
    expect(calls(DeleteDBInstanceCommand)).toEqual([
      { DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
    ]);
  });

  it('a restore refused by RDS: not retried, the AWS reason in one message', async () => {
    rds.mock.on(RestoreDBInstanceFromDBSnapshotCommand).rejects(
      new InsufficientDBInstanceCapacityFault({
        message: 'Cannot create a db.t4g.micro instance in eu-west-1a',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const err = await provider()
      .claim({ number: 9, namespace: 'fe-pr-9' }, memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^RDS RestoreDBInstanceFromDBSnapshot fe-integration-db-[a-z0-9]{6} failed: InsufficientDBInstanceCapacityFault: Cannot create a db\.t4g\.micro instance in eu-west-1a$/,
    );
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(1);
  });

  it('throttling is retried; a validation error is not', async () => {
    rds.member('fe-integration-db-aaaaaa', 'available');
    const throttled = awsError('Throttling', 'Rate exceeded');
    let throttledLeft = 2;
    const original = rds.client.send.bind(rds.client);
    rds.client.send = (async (cmd: unknown) => {
      if (cmd instanceof DescribeDBInstancesCommand && throttledLeft > 0) {
        throttledLeft--;
        throw throttled;
      }
      return original(cmd as never);
    }) as typeof rds.client.send;
    const logger = memoryLogger();
    const info = await provider().claim({ number: 3, namespace: 'fe-pr-3' }, logger);
    expect(info.id).toBe('fe-integration-db-aaaaaa');
    expect(logger.text()).toContain('RDS DescribeDBInstances: Throttling: Rate exceeded; trying again');
    expect(throttledLeft).toBe(0); // both throttled attempts happened, then the call went through

    rds.client.send = original as typeof rds.client.send;
    rds.mock
      .on(ModifyDBInstanceCommand)
      .rejects(awsError('InvalidParameterValue', 'The password is not valid'));
    const err = await provider()
      .claim({ number: 3, namespace: 'fe-pr-3' }, memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'RDS ModifyDBInstance fe-integration-db-aaaaaa (new master password) failed: InvalidParameterValue: The password is not valid',
    );
    expect(calls(ModifyDBInstanceCommand)).toHaveLength(2); // the first claim's, and this one once
  });

  it('throttling that does not stop: bounded, then reported', async () => {
    rds.mock.on(DescribeDBInstancesCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const err = await provider(1, { retry: { attempts: 3, baseDelayMs: 1, sleep: async () => {} } })
      .held(memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^RDS DescribeDBInstances failed after 3 attempts in .*: Rate exceeded$/,
    );
    expect(calls(DescribeDBInstancesCommand)).toHaveLength(3);
  });

  it('credentials AWS refuses: a clear message, not retried', async () => {
    rds.mock
      .on(DescribeDBInstancesCommand)
      .rejects(
        awsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403),
      );
    const err = await provider()
      .refill(memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^RDS DescribeDBInstances: AWS refused the credentials \(InvalidClientTokenId: The security token included in the request is invalid\.\)/,
    );
    expect(calls(DescribeDBInstancesCommand)).toHaveLength(1);
  });

  it('a claim that collides with a concurrent claimer backs off (removes its claim tag) and takes the next member', async () => {
    rds.member('fe-integration-db-aaaaaa', 'available');
    rds.member('fe-integration-db-bbbbbb', 'available');
    let contested: string | undefined;
    rds.state.afterAddTags = (id, keys) => {
      // Another run writes its own claim tag on the first member we try, at the same moment.
      if (!contested && keys.some((k) => k.startsWith(CLAIM_TAG_PREFIX))) {
        contested = id;
        rds.state.instances.get(id)!.tags.set(`${CLAIM_TAG_PREFIX}0123456789ab`, `77:${clock}`);
      }
    };
    const logger = memoryLogger();
    const info = await provider().claim({ number: 5, namespace: 'fe-pr-5' }, logger);
    expect(info.id).not.toBe(contested);
    expect(logger.text()).toContain(
      `RDS: ${contested} is being claimed by another run at the same time; trying the next`,
    );
    const first = rds.state.instances.get(contested!)!.tags;
    expect(first.has(PR_TAG)).toBe(false);
    expect([...first.keys()].filter((k) => k.startsWith(CLAIM_TAG_PREFIX))).toEqual([
      `${CLAIM_TAG_PREFIX}0123456789ab`, // only the other run's: ours is gone
    ]);
    const won = rds.state.instances.get(info.id)!.tags;
    expect(won.get(PR_TAG)).toMatch(/^5:[0-9a-f]{12}:[0-9]+$/);
    expect([...won.keys()].filter((k) => k.startsWith(CLAIM_TAG_PREFIX))).toEqual([]);
  });

  it('a member claimed by another PR after our listing is left to it: a claim never overwrites another', async () => {
    rds.member('fe-integration-db-aaaaaa', 'available');
    // Another run finished its claim between our DescribeDBInstances and our claim tag.
    rds.state.afterAddTags = (id, keys) => {
      if (id === 'fe-integration-db-aaaaaa' && keys.some((k) => k.startsWith(CLAIM_TAG_PREFIX)))
        rds.state.instances.get(id)!.tags.set(PR_TAG, '77:c0ffeec0ffee');
    };
    const logger = memoryLogger();
    const info = await provider().claim({ number: 6, namespace: 'fe-pr-6' }, logger);
    expect(info.id).not.toBe('fe-integration-db-aaaaaa');
    expect(logger.text()).toContain(
      'RDS: fe-integration-db-aaaaaa was claimed by PR 77 meanwhile; trying the next',
    );
    expect(rds.state.instances.get('fe-integration-db-aaaaaa')!.tags.get(PR_TAG)).toBe('77:c0ffeec0ffee');
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(1);
    expect(sleeps.filter((s) => s < 15_000)).toEqual([]); // taken for good: no back-off round
  });

  it('two runs of one PR that each won an instance: the later claim gives its own back, whatever the identifiers', async () => {
    rds.member('fe-integration-db-aaaaaa', 'available'); // ours: the lower identifier
    // The other run for PR 6 is claiming zzzzzz (its claim tag is on it), a moment before us; its
    // pr tag lands only after our first look, and it never sees ours, so it keeps zzzzzz: ours
    // (aaaaaa) must go back, though its identifier sorts first.
    rds.member('fe-integration-db-zzzzzz', 'available', {
      [`${CLAIM_TAG_PREFIX}0123456789ab`]: `6:${clock}`,
    });
    rds.state.afterAddTags = (id, keys) => {
      if (id !== 'fe-integration-db-aaaaaa' || !keys.includes(PR_TAG)) return;
      const theirs = rds.state.instances.get('fe-integration-db-zzzzzz')!.tags;
      theirs.set(PR_TAG, `6:0123456789ab:${clock - 1000}`);
      theirs.delete(`${CLAIM_TAG_PREFIX}0123456789ab`);
    };
    const logger = memoryLogger();
    const info = await provider(2).claim({ number: 6, namespace: 'fe-pr-6' }, logger);
    expect(info.id).toBe('fe-integration-db-zzzzzz');
    expect(rds.state.instances.get('fe-integration-db-aaaaaa')!.tags.has(PR_TAG)).toBe(false);
    expect(logger.text()).toContain('fe-integration-db-aaaaaa goes back to the pool');
  });

  it('claims that collide every time: a few rounds with random pauses, then a restore', async () => {
    rds.member('fe-integration-db-aaaaaa', 'available');
    rds.state.afterAddTags = (id, keys) => {
      if (keys.some((k) => k.startsWith(CLAIM_TAG_PREFIX)))
        rds.state.instances.get(id)!.tags.set(`${CLAIM_TAG_PREFIX}${'f'.repeat(12)}`, `77:${clock}`);
    };
    rds.mock.on(RemoveTagsFromResourceCommand).callsFake(async (input) => {
      const f = rds.state.instances.get(idOf(input.ResourceName!))!;
      for (const k of input.TagKeys ?? []) f.tags.delete(k);
      f.tags.delete(`${CLAIM_TAG_PREFIX}${'f'.repeat(12)}`); // the other run backs off too
      return {};
    });
    const info = await provider(1, { claimRounds: 3 }).claim(
      { number: 4, namespace: 'fe-pr-4' },
      memoryLogger(),
    );
    expect(info.id).not.toBe('fe-integration-db-aaaaaa');
    expect(
      calls(AddTagsToResourceCommand).filter(
        (c) => idOf(c.ResourceName as string) === 'fe-integration-db-aaaaaa',
      ),
    ).toHaveLength(3);
    const pauses = sleeps.filter((s) => s < 15_000);
    expect(pauses).toHaveLength(2); // between the rounds, not after the last
    for (const p of pauses) expect(p).toBeGreaterThanOrEqual(200);
  });

  it('members of another PR, or being claimed right now, are not touched; a claim tag older than 10 minutes does not block', async () => {
    rds.member('fe-integration-db-claim0', 'available', { [PR_TAG]: '3:abcabcabcabc' });
    rds.member('fe-integration-db-fresh0', 'available', {
      [`${CLAIM_TAG_PREFIX}aaaaaaaaaaaa`]: `3:${clock - 60_000}`,
    });
    const info = await provider().claim({ number: 10, namespace: 'fe-pr-10' }, memoryLogger());
    expect(info.id).toMatch(/^fe-integration-db-[a-z0-9]{6}$/);
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(1);
    expect(calls(AddTagsToResourceCommand)).toEqual([]); // a restore for the PR carries its tags

    rds.member('fe-integration-db-stale0', 'available', {
      [`${CLAIM_TAG_PREFIX}bbbbbbbbbbbb`]: `3:${clock - 11 * 60_000}`,
    });
    const second = await provider().claim({ number: 11, namespace: 'fe-pr-11' }, memoryLogger());
    expect(second.id).toBe('fe-integration-db-stale0');
  });

  it('prefers an available member; takes one still being restored (and waits) before restoring another', async () => {
    rds.member('fe-integration-db-creat0', 'creating');
    rds.state.instances.get('fe-integration-db-creat0')!.statuses = ['creating', 'creating', 'available'];
    const info = await provider().claim({ number: 11, namespace: 'fe-pr-11' }, memoryLogger());
    expect(info.id).toBe('fe-integration-db-creat0');
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)).toEqual([]);

    for (let i = 1; i <= 9; i++) rds.member(`fe-integration-db-creat${i}`, 'creating');
    rds.member('fe-integration-db-avail0', 'available');
    const second = await provider().claim({ number: 12, namespace: 'fe-pr-12' }, memoryLogger());
    expect(second.id).toBe('fe-integration-db-avail0');
  });

  it('the newest available snapshot, automated or manual; none: says which exist', async () => {
    rds.state.snapshots = [
      {
        DBSnapshotIdentifier: 'rds:auto-old',
        SnapshotType: 'automated',
        Status: 'available',
        SnapshotCreateTime: new Date('2025-05-01T03:00:00Z'),
      },
      {
        DBSnapshotIdentifier: 'manual-mid',
        SnapshotType: 'manual',
        Status: 'available',
        SnapshotCreateTime: new Date('2025-05-20T03:00:00Z'),
      },
      {
        DBSnapshotIdentifier: 'rds:auto-new',
        SnapshotType: 'automated',
        Status: 'creating',
        SnapshotCreateTime: new Date('2025-06-01T03:00:00Z'),
      },
    ];
    await provider(1).refill(memoryLogger());
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)[0]!.DBSnapshotIdentifier).toBe('manual-mid');

    rds.state.snapshots = [rds.state.snapshots[2]!];
    const err = await provider(2)
      .refill(memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      "RDS instance 'integration-db' (db-source-instance) has no available snapshot in eu-west-1 (1 not available yet: rds:auto-new creating): enable its automated backups, or take one ('aws rds create-db-snapshot --db-instance-identifier integration-db --db-snapshot-identifier ...')",
    );
  });

  it('refill counts unclaimed members available or on their way, deletes failed ones, restores the rest for the pool only', async () => {
    rds.member('fe-integration-db-avail0', 'available');
    rds.member('fe-integration-db-creat0', 'creating');
    rds.member('fe-integration-db-claim0', 'available', { [PR_TAG]: '3:abcabcabcabc' });
    rds.member('fe-integration-db-delet0', 'deleting');
    rds.member('fe-integration-db-faild0', 'incompatible-network');
    const logger = memoryLogger();
    const { created } = await provider(3).refill(logger);
    expect(created).toHaveLength(1);
    expect(calls(DeleteDBInstanceCommand)).toEqual([
      {
        DBInstanceIdentifier: 'fe-integration-db-faild0',
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      },
    ]);
    expect(logger.text()).toContain(
      "warning: RDS: pool member fe-integration-db-faild0 is 'incompatible-network' (its subnet group or security groups do not work (e.g. no free addresses in the subnets)): deleting it",
    );
    expect(logger.text()).toContain('2 of 3 unclaimed instance(s) available or on their way; restoring 1');
    expect(calls(RestoreDBInstanceFromDBSnapshotCommand)[0]!.Tags).toEqual([
      { Key: POOL_TAG, Value: SOURCE },
      { Key: SET_TAG, Value: SET },
      { Key: SNAPSHOT_TAG, Value: 'rds:integration-db-2025-01-01-03-00' },
      { Key: SNAPSHOT_TIME_TAG, Value: '2025-01-01T03:00:00.000Z' },
    ]);
  });

  it('release deletes every instance of the PR without a final snapshot, skips one already deleting; none: false', async () => {
    rds.member('fe-integration-db-aaaaaa', 'available', { [PR_TAG]: '5:aaaaaaaaaaaa' });
    rds.member('fe-integration-db-bbbbbb', 'creating', { [PR_TAG]: '5:bbbbbbbbbbbb' });
    rds.member('fe-integration-db-cccccc', 'deleting', { [PR_TAG]: '5:cccccccccccc' });
    rds.member('fe-integration-db-dddddd', 'available', { [PR_TAG]: '6:dddddddddddd' });
    const p = provider();
    expect(await p.release({ number: 5 }, memoryLogger())).toBe(true);
    expect(calls(DeleteDBInstanceCommand)).toEqual([
      {
        DBInstanceIdentifier: 'fe-integration-db-aaaaaa',
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      },
      {
        DBInstanceIdentifier: 'fe-integration-db-bbbbbb',
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      },
    ]);
    expect(await p.release({ number: 99 }, memoryLogger())).toBe(false);
  });

  it('held: PR number → instance from the tags (the first of several, none being deleted)', async () => {
    rds.member('fe-integration-db-bbbbbb', 'available', { [PR_TAG]: '5:bbbbbbbbbbbb' });
    rds.member('fe-integration-db-aaaaaa', 'available', { [PR_TAG]: '5:aaaaaaaaaaaa' });
    rds.member('fe-integration-db-cccccc', 'deleting', { [PR_TAG]: '6:cccccccccccc' });
    rds.member('fe-integration-db-dddddd', 'available', { [PR_TAG]: '12' });
    rds.member('fe-integration-db-eeeeee', 'available');
    rds.state.instances.set('unrelated', {
      id: 'unrelated',
      statuses: ['available'],
      tags: new Map([[PR_TAG, '8:x']]),
    });
    expect(await provider().held(memoryLogger())).toEqual(
      new Map([
        [5, 'fe-integration-db-aaaaaa'],
        [12, 'fe-integration-db-dddddd'],
      ]),
    );
    // And a claim for PR 5 uses that same one, and gives the other back to the pool.
    const logger = memoryLogger();
    const info = await provider().claim({ number: 5, namespace: 'fe-pr-5' }, logger);
    expect(info.id).toBe('fe-integration-db-aaaaaa');
    expect(logger.text()).toContain(
      'PR 5 holds fe-integration-db-aaaaaa (claimed by a concurrent run at the same instant); fe-integration-db-bbbbbb goes back to the pool',
    );
    expect(rds.state.instances.get('fe-integration-db-bbbbbb')!.tags.has(PR_TAG)).toBe(false);
    // Tags of another set on the same source: not this provider's pool.
    rds.member('fe-integration-db-ffffff', 'available', { [SET_TAG]: 'other-set', [PR_TAG]: '7:x' });
    expect((await provider().held(memoryLogger())).has(7)).toBe(false);
  });

  it('instance identifiers fit RDS rules for long and odd source names', async () => {
    const p = rdsSnapshotProvider(
      {
        sourceInstance: 'Shop--Integration-' + 'x'.repeat(60),
        instanceClass: 'db.t4g.micro',
        pool: 2,
        set: SET,
      },
      { client: rds.client, now: () => clock, sleep: async () => {} },
    );
    rds.state.instances.set('shop--integration-' + 'x'.repeat(60), {
      id: 'src',
      statuses: ['available'],
      tags: new Map(),
    });
    await p.refill(memoryLogger());
    for (const c of calls(RestoreDBInstanceFromDBSnapshotCommand)) {
      const id = c.DBInstanceIdentifier as string;
      expect(id.length).toBeLessThanOrEqual(63);
      expect(id).toMatch(/^fe-shop-integration-x+-[a-z0-9]{6}$/);
      expect(id).not.toMatch(/--/);
    }
  });
});
