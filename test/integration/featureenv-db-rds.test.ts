import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { memoryLogger } from '../../src/core/logger.js';
import { C2CError } from '../../src/core/errors.js';
import {
  CLAIM_TAG_PREFIX,
  POOL_TAG,
  SNAPSHOT_TAG,
  SNAPSHOT_TIME_TAG,
  PR_TAG,
  SET_TAG,
  rdsSnapshotProvider,
} from '../../src/featureenv/db/rds.js';
import { haveMoto, startMoto, type MotoServer } from '../helpers/moto.js';

const SOURCE = 'integration-db';
const SET = 'acme-shop-0123456789';

function tags(i: DBInstance): Record<string, string> {
  return Object.fromEntries((i.TagList ?? []).map((t) => [t.Key!, t.Value!]));
}

describe.skipIf(!haveMoto())('rds-snapshot databases: the real AWS SDK against moto', () => {
  let moto: MotoServer;
  let client: RDSClient;

  const instances = async (): Promise<DBInstance[]> =>
    (await client.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];
  const poolMembers = async () => (await instances()).filter((i) => tags(i)[POOL_TAG] === SOURCE);

  // settleMs: the pause between the two reads of a fresh claim must outlast the other run's tag
  // write (2 s in production); 50 ms was too short when the suite loads both cores (CI, stop 19).
  const provider = (pool: number, set = SET) =>
    rdsSnapshotProvider(
      { sourceInstance: SOURCE, instanceClass: 'db.t4g.micro', pool, region: moto.region, set },
      { client, pollMs: 1, settleMs: 500, retry: { baseDelayMs: 1 } },
    );

  /** Moto's EC2 query API (no EC2 SDK here): the default VPC's subnets, for a DB subnet group. */
  const defaultSubnets = async (): Promise<string[]> => {
    const r = await fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=${moto.credentials.accessKeyId}/20250101/${moto.region}/ec2/aws4_request, SignedHeaders=host, Signature=x`,
      },
      body: 'Action=DescribeSubnets&Version=2016-11-15',
    });
    return [...(await r.text()).matchAll(/<subnetId>([^<]+)<\/subnetId>/g)].map((m) => m[1]!);
  };

  beforeAll(async () => {
    moto = await startMoto();
    client = new RDSClient({
      region: moto.region,
      endpoint: moto.endpoint,
      credentials: moto.credentials,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    const subnets = await defaultSubnets();
    expect(subnets.length).toBeGreaterThan(1);
    await client.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: 'integration-subnets',
        DBSubnetGroupDescription: 'where the integration database lives',
        SubnetIds: subnets.slice(0, 2),
      }),
    );
    await client.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: SOURCE,
        Engine: 'postgres',
        DBInstanceClass: 'db.m5.large',
        MasterUsername: 'app',
        MasterUserPassword: 'integration-pw',
        AllocatedStorage: 20,
        DBName: 'shop',
        BackupRetentionPeriod: 0,
        DBSubnetGroupName: 'integration-subnets',
      }),
    );
    await client.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: SOURCE,
        DBSnapshotIdentifier: 'integration-db-old',
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    await client.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: SOURCE,
        DBSnapshotIdentifier: 'integration-db-nightly',
      }),
    );
  });

  it('refill restores `pool` members from the newest snapshot, tagged and unclaimed, where the source lives', async () => {
    const logger = memoryLogger();
    const p = provider(2);
    const { created } = await p.refill(logger);
    expect(created).toHaveLength(2);
    for (const id of created) expect(id).toMatch(/^fe-integration-db-[a-z0-9]{6}$/);
    const members = await poolMembers();
    expect(members.map((m) => m.DBInstanceIdentifier).sort()).toEqual([...created].sort());
    for (const m of members) {
      expect(tags(m)).toEqual({
        [POOL_TAG]: SOURCE,
        [SET_TAG]: SET,
        [SNAPSHOT_TAG]: 'integration-db-nightly',
        [SNAPSHOT_TIME_TAG]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(m.DBInstanceClass).toBe('db.t4g.micro');
      expect(m.DBSubnetGroup?.DBSubnetGroupName).toBe('integration-subnets');
    }
    expect(logger.text()).toContain('from snapshot integration-db-nightly');
    expect(logger.text()).not.toContain('integration-db-old');
    // Full: nothing more.
    expect((await p.refill(memoryLogger())).created).toEqual([]);
    expect(await poolMembers()).toHaveLength(2);
  });

  it('rotation: a newer snapshot replaces the unclaimed members restored from an older one; a claimed one stays', async () => {
    const p = provider(2);
    const first = (await p.refill(memoryLogger())).created;
    expect(first).toHaveLength(2);
    const claimed = await p.claim({ number: 8, namespace: 'fe-pr-8' }, memoryLogger());
    // The claim took one; the next refill tops up the pool from the same snapshot: nothing stale.
    const same = memoryLogger();
    await p.refill(same);
    expect(same.text()).not.toContain('replaced');
    await new Promise((r) => setTimeout(r, 20));
    await client.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: SOURCE,
        DBSnapshotIdentifier: 'integration-db-newer',
      }),
    );
    const logger = memoryLogger();
    const { created } = await p.refill(logger);
    expect(logger.text()).toMatch(
      /2 from a snapshot older than integration-db-newer \(replaced\); restoring 2/,
    );
    expect(created).toHaveLength(2);
    const members = await poolMembers();
    const live = members.filter((m) => m.DBInstanceStatus !== 'deleting');
    // The claimed one from the older snapshot stays; the pool is the two new ones.
    expect(live.map((m) => m.DBInstanceIdentifier).sort()).toEqual([claimed.id, ...created].sort());
    for (const m of live.filter((x) => x.DBInstanceIdentifier !== claimed.id))
      expect(tags(m)[SNAPSHOT_TAG]).toBe('integration-db-newer');
    expect(tags(live.find((m) => m.DBInstanceIdentifier === claimed.id)!)[SNAPSHOT_TAG]).toBe(
      'integration-db-nightly',
    );
  });

  it('claim takes a pool member (tags it), a second PR takes the other, a third restores; held maps them', async () => {
    const p = provider(2);
    const { created } = await p.refill(memoryLogger());
    const logger = memoryLogger();
    const one = await p.claim({ number: 1, namespace: 'fe-pr-1' }, logger);
    expect(created).toContain(one.id);
    expect(one).toMatchObject({
      host: `${one.id}.aaaaaaaaaa.${moto.region}.rds.amazonaws.com`,
      port: 5432,
      database: 'shop',
      user: 'app',
    });
    expect(one.password).toMatch(/^[A-Za-z0-9]{28}$/);
    // How old its data is (issue 16 item 1): the snapshot it was restored from, and when that was taken.
    expect(one.dataFrom).toMatchObject({ kind: 'snapshot', name: 'integration-db-nightly' });
    expect(Number.isNaN(Date.parse(one.dataFrom!.at!))).toBe(false);
    expect(logger.text()).not.toContain(one.password);
    expect(logger.text()).toContain(`PR 1 claimed ${one.id} from the pool of integration-db`);

    const two = await p.claim({ number: 2, namespace: 'fe-pr-2' }, memoryLogger());
    expect(created).toContain(two.id);
    expect(two.id).not.toBe(one.id);

    const logger3 = memoryLogger();
    const three = await p.claim({ number: 3, namespace: 'fe-pr-3' }, logger3);
    expect(created).not.toContain(three.id);
    expect(logger3.text()).toContain(
      'no unclaimed instance in the pool of integration-db; restoring one for PR 3',
    );

    const byId = new Map((await poolMembers()).map((m) => [m.DBInstanceIdentifier!, tags(m)]));
    expect(byId.get(one.id)![PR_TAG]).toMatch(/^1:[0-9a-f]{12}:[0-9]+$/);
    expect(byId.get(two.id)![PR_TAG]).toMatch(/^2:[0-9a-f]{12}:[0-9]+$/);
    expect(byId.get(three.id)![PR_TAG]).toMatch(/^3:[0-9a-f]{12}:[0-9]+$/);
    for (const t of byId.values())
      expect(Object.keys(t).filter((k) => k.startsWith(CLAIM_TAG_PREFIX))).toEqual([]);
    expect(await p.held(memoryLogger())).toEqual(
      new Map([
        [1, one.id],
        [2, two.id],
        [3, three.id],
      ]),
    );
  });

  it("a second claim for the same PR returns its instance and keeps the Secret's password: no ModifyDBInstance", async () => {
    const p = provider(1);
    await p.refill(memoryLogger());
    const first = await p.claim({ number: 5, namespace: 'fe-pr-5' }, memoryLogger());
    expect(first.passwordChanged).toBe(true);
    const logger = memoryLogger();
    const again = await p.claim({ number: 5, namespace: 'fe-pr-5' }, logger, { password: first.password });
    expect(again.id).toBe(first.id);
    expect(again.password).toBe(first.password);
    expect(again.passwordChanged).toBe(false);
    expect(logger.text()).toContain(`${first.id} is already PR 5's database`);
    expect(logger.text()).not.toContain('ModifyDBInstance');
    expect(logger.text()).not.toContain('master password');
    // On request (rotate-db-password), or when the Secret is gone: a new one.
    const rotated = await p.claim({ number: 5, namespace: 'fe-pr-5' }, memoryLogger(), {
      password: first.password,
      rotate: true,
    });
    expect(rotated.passwordChanged).toBe(true);
    expect(rotated.password).not.toBe(first.password);
    expect(await poolMembers()).toHaveLength(1);
  });

  it('two runs for one pull request at the same instant: one instance stays claimed, the other goes back to the pool', async () => {
    const p = provider(2);
    expect((await p.refill(memoryLogger())).created).toHaveLength(2);
    const [a, b] = await Promise.all([
      p.claim({ number: 6, namespace: 'fe-pr-6' }, memoryLogger()),
      p.claim({ number: 6, namespace: 'fe-pr-6' }, memoryLogger()),
    ]);
    expect(a.id).toBe(b.id);
    const held = (await poolMembers()).filter((m) => tags(m)[PR_TAG]?.startsWith('6:'));
    expect(held.map((m) => m.DBInstanceIdentifier)).toEqual([a.id]);
    // The other is unclaimed again: the next pull request takes it instead of waiting for a restore.
    const next = await p.claim({ number: 16, namespace: 'fe-pr-16' }, memoryLogger());
    expect(next.id).not.toBe(a.id);
    expect((await poolMembers()).length).toBe(2);
  });

  it("another set's pool on the same source instance is never claimed, counted or released", async () => {
    const theirs = provider(1, 'other-repo-9876543210');
    const [their] = (await theirs.refill(memoryLogger())).created;
    const ours = provider(1);
    const [mine] = (await ours.refill(memoryLogger())).created;
    expect(mine).not.toBe(their);
    const info = await ours.claim({ number: 17, namespace: 'fe-pr-17' }, memoryLogger());
    expect(info.id).toBe(mine);
    const theirInfo = await theirs.claim({ number: 17, namespace: 'x' }, memoryLogger());
    expect(theirInfo.id).toBe(their);
    expect(await ours.held(memoryLogger())).toEqual(new Map([[17, mine]]));
    expect(await ours.release({ number: 17 }, memoryLogger())).toBe(true);
    expect((await instances()).map((i) => i.DBInstanceIdentifier)).toContain(their);
    expect(await theirs.held(memoryLogger())).toEqual(new Map([[17, their]]));
  });

  it('10 PRs claiming at once from a pool of 3 never share an instance', async () => {
    const p = provider(3);
    const { created } = await p.refill(memoryLogger());
    const prs = Array.from({ length: 10 }, (_, i) => 11 + i);
    const infos = await Promise.all(
      prs.map((n) => p.claim({ number: n, namespace: `fe-pr-${n}` }, memoryLogger())),
    );
    expect(new Set(infos.map((i) => i.id)).size).toBe(10);
    const byId = new Map((await poolMembers()).map((m) => [m.DBInstanceIdentifier!, tags(m)]));
    prs.forEach((n, k) => expect(byId.get(infos[k]!.id)![PR_TAG]!.split(':')[0]).toBe(String(n)));
    // Every pool member is held by at most one PR, and no claim tag is left behind.
    for (const id of created) {
      const claimedBy = infos.filter((i) => i.id === id);
      expect(claimedBy.length).toBeLessThanOrEqual(1);
    }
    for (const t of byId.values())
      expect(Object.keys(t).filter((k) => k.startsWith(CLAIM_TAG_PREFIX))).toEqual([]);
    const held = await p.held(memoryLogger());
    expect(prs.map((n) => held.get(n))).toEqual(infos.map((i) => i.id));
  });

  it('release deletes the PR instance without a final snapshot; again: false; others stay', async () => {
    const p = provider(0);
    const a = await p.claim({ number: 7, namespace: 'fe-pr-7' }, memoryLogger());
    const b = await p.claim({ number: 8, namespace: 'fe-pr-8' }, memoryLogger());
    const logger = memoryLogger();
    expect(await p.release({ number: 7 }, logger)).toBe(true);
    expect(logger.text()).toContain(`deleting ${a.id} of PR 7 (no final snapshot`);
    const left = (await instances()).map((i) => i.DBInstanceIdentifier);
    expect(left).not.toContain(a.id);
    expect(left).toContain(b.id);
    expect(left).toContain(SOURCE);
    expect(await p.release({ number: 7 }, memoryLogger())).toBe(false);
    expect(await p.held(memoryLogger())).toEqual(new Map([[8, b.id]]));
  });

  it("another source's pool and untagged instances are never claimed, counted or deleted", async () => {
    await client.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: 'fe-other-db-aaaaaa',
        DBSnapshotIdentifier: 'integration-db-nightly',
        Tags: [
          { Key: POOL_TAG, Value: 'other-db' },
          { Key: SET_TAG, Value: SET },
        ],
      }),
    );
    await client.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: 'fe-other-db-bbbbbb',
        DBSnapshotIdentifier: 'integration-db-nightly',
        Tags: [
          { Key: POOL_TAG, Value: 'other-db' },
          { Key: SET_TAG, Value: SET },
          { Key: PR_TAG, Value: '9:feedfacecafe' },
        ],
      }),
    );
    const p = provider(1);
    expect((await p.refill(memoryLogger())).created).toHaveLength(1);
    const info = await p.claim({ number: 9, namespace: 'fe-pr-9' }, memoryLogger());
    expect(info.id).toMatch(/^fe-integration-db-/);
    expect(await p.held(memoryLogger())).toEqual(new Map([[9, info.id]]));
    expect(await p.release({ number: 9 }, memoryLogger())).toBe(true);
    const ids = (await instances()).map((i) => i.DBInstanceIdentifier);
    expect(ids).toEqual(expect.arrayContaining([SOURCE, 'fe-other-db-aaaaaa', 'fe-other-db-bbbbbb']));
  });

  it('a source instance that does not exist: a clear message, nothing restored', async () => {
    const p = rdsSnapshotProvider(
      {
        sourceInstance: 'integration-bd',
        instanceClass: 'db.t4g.micro',
        pool: 1,
        region: moto.region,
        set: SET,
      },
      { client, pollMs: 1 },
    );
    const err = await p.claim({ number: 4, namespace: 'fe-pr-4' }, memoryLogger()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(C2CError);
    expect((err as Error).message).toBe(
      "RDS instance 'integration-bd' (db-source-instance) does not exist in eu-west-1, and no snapshot of it does: check the name",
    );
    expect((await instances()).map((i) => i.DBInstanceIdentifier)).toEqual([SOURCE]);
  });
});
