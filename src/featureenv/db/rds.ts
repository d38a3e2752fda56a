import { randomBytes, randomInt } from 'node:crypto';
import {
  AddTagsToResourceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
  type DBSnapshot,
  type Tag,
} from '@aws-sdk/client-rds';
import { C2CError, errorMessage, type RetryOptions } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { AwsCallError, awsCall } from '../../aws/index.js';
import type { ClaimOptions, DatabaseInfo, DatabaseProvider, EnvRef } from '../types.js';

/**
 * `rds-snapshot`: the n+1 pool of the original design. Instances restored from the newest snapshot of
 * a source instance wait, available and unclaimed, until an environment claims one; a claim sets a
 * new master password, which is returned for the environment's Secret and written nowhere else.
 *
 * State lives in tags, nowhere else:
 * - `commit-to-cloud/pool=<source>` and `commit-to-cloud/set=<set key>`: a member of the pool of that
 *   source instance for that set of environments (pools of two sets never mix, even on one source);
 * - `commit-to-cloud/pr=<n>:<token>`: claimed by pull request n (the token names the claim);
 * - `commit-to-cloud/claim/<token>=<n>:<epoch ms>`: a claim in progress (removed when it ends).
 *
 * RDS has no conditional tag write, so a claim is made safe the way a lock without compare-and-swap
 * is: each claimer writes a claim tag of its own (never overwriting another's), then reads the tags
 * back; it wins only when no other claim and no `pr` tag is there, and only then writes `pr`. Two
 * claimers can both lose (both then move on), never both win: the later writer always reads the
 * earlier one's tag. Two runs for one pull request at the same instant can each win an instance: each
 * then reads the pool again, keeps the first of the pull request's instances (by identifier) and
 * gives the other back to the pool, so both end on one instance.
 *
 * The master password is set when an instance is claimed and kept afterwards (the environment's
 * Secret is the record): an update modifies nothing, unless a rotation is asked for.
 */
export interface RdsSnapshotConfig {
  sourceInstance: string;
  instanceClass: string;
  /** Restored, available (or being restored), unclaimed instances kept ready. */
  pool: number;
  region?: string;
  /** The key of the set of environments (state.ts setKey), tagged on every instance of its pool. */
  set: string;
}

export interface RdsProviderOptions {
  /** An RDS client to use (tests point one at moto, or mock it). */
  client?: RDSClient;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long a claim waits for its instance to be available. Default 40 minutes. */
  waitTimeoutMs?: number;
  /** Between two DescribeDBInstances while waiting. Default 15 s. */
  pollMs?: number;
  /** The retries of every AWS call (tests make them fast). */
  retry?: RetryOptions;
  /** Rounds of claim attempts on the pool when claims collide, before restoring. Default 4. */
  claimRounds?: number;
  /** The pause between the two reads that settle a claim made at the same instant as another for the same pull request. Default 2 s. */
  settleMs?: number;
}

export const POOL_TAG = 'commit-to-cloud/pool';
export const SET_TAG = 'commit-to-cloud/set';
export const PR_TAG = 'commit-to-cloud/pr';
export const CLAIM_TAG_PREFIX = 'commit-to-cloud/claim/';
/** The snapshot an instance was restored from, and when that snapshot was taken: how old its data is. */
export const SNAPSHOT_TAG = 'commit-to-cloud/snapshot';
export const SNAPSHOT_TIME_TAG = 'commit-to-cloud/snapshot-time';
/** A claim tag older than this was left by a run that died: it no longer blocks. */
const STALE_CLAIM_MS = 10 * 60_000;

/** States an instance leaves by itself for `available`. */
const ON_ITS_WAY = new Set([
  'creating',
  'backing-up',
  'modifying',
  'resetting-master-credentials',
  'configuring-enhanced-monitoring',
  'configuring-iam-database-auth',
  'configuring-log-exports',
  'rebooting',
  'renaming',
  'upgrading',
  'maintenance',
  'storage-optimization',
  'starting',
  'moving-to-vpc',
  'converting-to-vpc',
]);

/** States it will not leave for `available` by itself, and what they mean. */
const FAILED: Record<string, string> = {
  failed: 'RDS could not create or recover it',
  'incompatible-restore':
    'RDS could not restore the snapshot (e.g. an instance class the engine version does not support)',
  'incompatible-parameters': "the DB parameter group's settings do not fit the instance",
  'incompatible-network':
    'its subnet group or security groups do not work (e.g. no free addresses in the subnets)',
  'incompatible-option-group': 'its option group does not fit the instance',
  'incompatible-credentials': 'RDS cannot use its credentials',
  'inaccessible-encryption-credentials': 'the KMS key of its storage cannot be used',
  'inaccessible-encryption-credentials-recoverable': 'the KMS key of its storage cannot be used',
  'insufficient-capacity': 'AWS has no capacity for this instance class in the availability zone',
  'restore-error': 'RDS could not restore the snapshot',
  'storage-full': 'its storage is full',
};

const GONE = new Set(['deleting', 'deleted', 'stopping', 'stopped']);

interface Member {
  id: string;
  arn: string;
  status: string;
  tags: Map<string, string>;
  /** The pull request that claimed it. */
  pr?: number;
  instance: DBInstance;
}

function tagMap(tags: Tag[] | undefined): Map<string, string> {
  return new Map((tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
}

function prOf(tags: Map<string, string>): number | undefined {
  const m = /^([1-9][0-9]*)(?::|$)/.exec(tags.get(PR_TAG) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Instances by identifier (byte order). */
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** When the pull request claimed the instance (`<pr>:<token>:<ms>`; 0 for a tag without the time). */
function claimedAt(tags: Map<string, string>): number {
  return Number((tags.get(PR_TAG) ?? '').split(':')[2]) || 0;
}

/**
 * A pull request's instances, the one it keeps first: the earliest claim (then the identifier). Every
 * run that sees two agrees which stays; the earliest claimer keeps its own even when it never sees
 * the later one, and the later one, which sees both, gives its own back.
 */
function keepOrder(
  a: { id: string; tags: Map<string, string> },
  b: { id: string; tags: Map<string, string> },
): number {
  return claimedAt(a.tags) - claimedAt(b.tags) || byId(a, b);
}

/** 28 letters and digits: valid as a master password of every RDS engine (Oracle's 30 is the shortest limit). */
function generatePassword(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 28; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A failed RDS call, with the AWS error name (DBInstanceNotFoundFault, ...) for the callers that expect some. */

export function rdsSnapshotProvider(
  config: RdsSnapshotConfig,
  opts: RdsProviderOptions = {},
): DatabaseProvider {
  const source = config.sourceInstance.toLowerCase();
  const ownClient = !opts.client;
  const client =
    opts.client ?? new RDSClient({ ...(config.region ? { region: config.region } : {}), maxAttempts: 1 });
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const waitTimeoutMs = opts.waitTimeoutMs ?? 40 * 60_000;
  const pollMs = opts.pollMs ?? 15_000;
  const claimRounds = opts.claimRounds ?? 4;
  const settleMs = opts.settleMs ?? 2000;
  const regionText = config.region ? ` in ${config.region}` : '';

  /** Every AWS call: our bounded retries, then one clear error (src/aws's awsCall). */
  const call = <T>(what: string, logger: Logger, fn: () => Promise<T>): Promise<T> =>
    awsCall(
      {
        service: 'RDS',
        permissions:
          'RDS DescribeDBSnapshots, DescribeDBInstances, RestoreDBInstanceFromDBSnapshot, ModifyDBInstance, DeleteDBInstance, AddTagsToResource, RemoveTagsFromResource and ListTagsForResource',
        ...(opts.retry ? { retry: opts.retry } : {}),
      },
      what,
      logger,
      fn,
    );

  /** The instances of this pool (tagged with its source), with their tags. */
  const list = async (logger: Logger): Promise<Member[]> => {
    const out: Member[] = [];
    let marker: string | undefined;
    do {
      const page = await call('DescribeDBInstances', logger, () =>
        client.send(
          new DescribeDBInstancesCommand({ MaxRecords: 100, ...(marker ? { Marker: marker } : {}) }),
        ),
      );
      for (const instance of page.DBInstances ?? []) {
        const tags = tagMap(instance.TagList);
        if (
          tags.get(POOL_TAG) !== source ||
          tags.get(SET_TAG) !== config.set ||
          !instance.DBInstanceIdentifier ||
          !instance.DBInstanceArn
        )
          continue;
        const pr = prOf(tags);
        out.push({
          id: instance.DBInstanceIdentifier,
          arn: instance.DBInstanceArn,
          status: instance.DBInstanceStatus ?? 'unknown',
          tags,
          ...(pr ? { pr } : {}),
          instance,
        });
      }
      marker = page.Marker;
    } while (marker);
    return out.sort(byId);
  };

  const describe = async (id: string, logger: Logger): Promise<DBInstance | undefined> => {
    try {
      const r = await call(`DescribeDBInstances ${id}`, logger, () =>
        client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })),
      );
      return r.DBInstances?.[0];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const isNotFound = (err: unknown) =>
    err instanceof AwsCallError && /^DBInstanceNotFound/.test(err.awsName ?? '');

  const liveClaims = (tags: Map<string, string>, except?: string): string[] =>
    [...tags]
      .filter(([k, v]) => {
        if (!k.startsWith(CLAIM_TAG_PREFIX) || k === except) return false;
        const at = Number(/:(\d+)$/.exec(v)?.[1]);
        return Number.isFinite(at) && now() - at < STALE_CLAIM_MS;
      })
      .map(([k]) => k);

  const removeTag = async (m: Member, key: string, logger: Logger): Promise<void> => {
    try {
      await call(`RemoveTagsFromResource ${m.id}`, logger, () =>
        client.send(new RemoveTagsFromResourceCommand({ ResourceName: m.arn, TagKeys: [key] })),
      );
    } catch (err) {
      // Left behind, it blocks nobody for long: a claim tag goes stale after 10 minutes.
      logger.warning(`RDS: could not remove the claim tag ${key} from ${m.id}: ${errorMessage(err)}`);
    }
  };

  /** One claim attempt on one pool member: 'won', 'taken' (by another PR for good) or 'conflict'. */
  const tryClaim = async (m: Member, n: number, logger: Logger): Promise<'won' | 'taken' | 'conflict'> => {
    const token = randomBytes(6).toString('hex');
    const key = `${CLAIM_TAG_PREFIX}${token}`;
    await call(`AddTagsToResource ${m.id}`, logger, () =>
      client.send(
        new AddTagsToResourceCommand({ ResourceName: m.arn, Tags: [{ Key: key, Value: `${n}:${now()}` }] }),
      ),
    );
    const read = await call(`ListTagsForResource ${m.id}`, logger, () =>
      client.send(new ListTagsForResourceCommand({ ResourceName: m.arn })),
    );
    const tags = tagMap(read.TagList);
    const owner = prOf(tags);
    const others = liveClaims(tags, key);
    if (tags.get(key) === undefined || owner !== undefined || others.length) {
      await removeTag(m, key, logger);
      logger.info(
        owner !== undefined
          ? `RDS: ${m.id} was claimed by PR ${owner} meanwhile; trying the next`
          : `RDS: ${m.id} is being claimed by another run at the same time; trying the next`,
      );
      return owner !== undefined ? 'taken' : 'conflict';
    }
    const value = `${n}:${token}:${now()}`;
    await call(`AddTagsToResource ${m.id}`, logger, () =>
      client.send(
        new AddTagsToResourceCommand({ ResourceName: m.arn, Tags: [{ Key: PR_TAG, Value: value }] }),
      ),
    );
    await removeTag(m, key, logger);
    m.tags.set(PR_TAG, value);
    m.pr = n;
    return 'won';
  };

  /** A ready (or nearly ready) unclaimed pool member for PR n, or undefined when there is none. */
  const claimFromPool = async (n: number, members: Member[], logger: Logger): Promise<Member | undefined> => {
    for (let round = 1; round <= claimRounds; round++) {
      const free = members.filter(
        (m) =>
          m.pr === undefined &&
          !liveClaims(m.tags).length &&
          (m.status === 'available' || ON_ITS_WAY.has(m.status)),
      );
      if (!free.length) return undefined;
      // Available ones first; in a random order, so that concurrent claimers spread over the pool.
      const shuffled = free.map((m) => ({
        m,
        r: (m.status === 'available' ? 0 : 1) + randomInt(1_000_000) / 1e6,
      }));
      const candidates = shuffled.sort((a, b) => a.r - b.r).map((x) => x.m);
      let conflicts = 0;
      for (const m of candidates) {
        const outcome = await tryClaim(m, n, logger);
        if (outcome === 'won') {
          logger.info(`RDS: PR ${n} claimed ${m.id} from the pool of ${source} (${m.status})`);
          return m;
        }
        if (outcome === 'conflict') conflicts++;
      }
      if (!conflicts || round === claimRounds) return undefined;
      // Claims collided and all backed off: a moment of random length, then once more.
      await sleep(200 + randomInt(800) * round);
      members = await list(logger);
    }
    return undefined;
  };

  const newestSnapshot = async (logger: Logger): Promise<DBSnapshot> => {
    const all: DBSnapshot[] = [];
    let marker: string | undefined;
    do {
      const page = await call(`DescribeDBSnapshots ${source}`, logger, () =>
        client.send(
          new DescribeDBSnapshotsCommand({
            DBInstanceIdentifier: source,
            MaxRecords: 100,
            ...(marker ? { Marker: marker } : {}),
          }),
        ),
      );
      all.push(...(page.DBSnapshots ?? []));
      marker = page.Marker;
    } while (marker);
    const ready = all
      .filter((s) => s.Status === 'available' && s.SnapshotCreateTime && s.DBSnapshotIdentifier)
      .sort((a, b) => b.SnapshotCreateTime!.getTime() - a.SnapshotCreateTime!.getTime());
    if (!ready[0]) {
      if (!all.length && !(await describe(source, logger)))
        throw new C2CError(
          `RDS instance '${config.sourceInstance}' (db-source-instance) does not exist${regionText}, and no snapshot of it does: check the name${config.region ? '' : ' and the region'}`,
        );
      throw new C2CError(
        `RDS instance '${config.sourceInstance}' (db-source-instance) has no available snapshot${regionText}${
          all.length
            ? ` (${all.length} not available yet: ${all.map((s) => `${s.DBSnapshotIdentifier} ${s.Status}`).join(', ')})`
            : ''
        }: enable its automated backups, or take one ('aws rds create-db-snapshot --db-instance-identifier ${config.sourceInstance} --db-snapshot-identifier ...')`,
      );
    }
    return ready[0];
  };

  /** The restored instance goes where the source instance is: its subnet group, security groups, parameter group. */
  const placement = async (logger: Logger) => {
    const src = await describe(source, logger);
    if (!src) {
      logger.warning(
        `RDS: the source instance ${config.sourceInstance} is gone; restoring with the account's default network settings`,
      );
      return {};
    }
    const subnetGroup = src.DBSubnetGroup?.DBSubnetGroupName;
    const securityGroups = (src.VpcSecurityGroups ?? [])
      .map((g) => g.VpcSecurityGroupId)
      .filter((g): g is string => !!g);
    const parameterGroup = src.DBParameterGroups?.[0]?.DBParameterGroupName;
    return {
      ...(subnetGroup ? { DBSubnetGroupName: subnetGroup } : {}),
      ...(securityGroups.length ? { VpcSecurityGroupIds: securityGroups } : {}),
      ...(parameterGroup && !parameterGroup.startsWith('default.')
        ? { DBParameterGroupName: parameterGroup }
        : {}),
      ...(src.PubliclyAccessible !== undefined ? { PubliclyAccessible: src.PubliclyAccessible } : {}),
    };
  };

  /** fe-<source>-<6 random>: at most 63 characters, no double or trailing hyphen. */
  const newId = () => {
    const base = source.replace(/-+/g, '-').slice(0, 52).replace(/-+$/, '');
    const suffix = Array.from(
      { length: 6 },
      () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(36)],
    ).join('');
    return `fe-${base}-${suffix}`;
  };

  const restore = async (
    snapshot: DBSnapshot,
    place: Record<string, unknown>,
    pr: number | undefined,
    logger: Logger,
  ): Promise<string> => {
    const id = newId();
    const tags: Tag[] = [
      { Key: POOL_TAG, Value: source },
      { Key: SET_TAG, Value: config.set },
      { Key: SNAPSHOT_TAG, Value: snapshot.DBSnapshotIdentifier! },
      ...(snapshot.SnapshotCreateTime
        ? [{ Key: SNAPSHOT_TIME_TAG, Value: snapshot.SnapshotCreateTime.toISOString() }]
        : []),
    ];
    if (pr !== undefined)
      tags.push({ Key: PR_TAG, Value: `${pr}:${randomBytes(6).toString('hex')}:${now()}` });
    await call(`RestoreDBInstanceFromDBSnapshot ${id}`, logger, () =>
      client.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: id,
          DBSnapshotIdentifier: snapshot.DBSnapshotIdentifier!,
          DBInstanceClass: config.instanceClass,
          MultiAZ: false,
          DeletionProtection: false,
          CopyTagsToSnapshot: false,
          Tags: tags,
          ...place,
        }),
      ),
    );
    logger.info(
      `RDS: restoring ${id} (${config.instanceClass}) from snapshot ${snapshot.DBSnapshotIdentifier} of ${snapshot.SnapshotCreateTime?.toISOString() ?? 'unknown time'}${pr !== undefined ? ` for PR ${pr}` : ` for the pool of ${source}`}`,
    );
    return id;
  };

  const deleteInstance = async (id: string, logger: Logger): Promise<void> => {
    try {
      await call(`DeleteDBInstance ${id}`, logger, () =>
        client.send(
          new DeleteDBInstanceCommand({
            DBInstanceIdentifier: id,
            SkipFinalSnapshot: true,
            DeleteAutomatedBackups: true,
          }),
        ),
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  };

  /** Polls until done(instance); a line on every change of state, and at least one a minute. */
  const waitUntil = async (
    id: string,
    goal: string,
    done: (i: DBInstance) => boolean,
    logger: Logger,
    pr: number,
  ): Promise<DBInstance> => {
    const start = now();
    let last = '';
    let lastLine = start;
    for (;;) {
      const inst = await describe(id, logger);
      if (!inst)
        throw new C2CError(
          `RDS instance ${id} disappeared while PR ${pr} waited for ${goal} (deleted by someone?)`,
        );
      const status = inst.DBInstanceStatus ?? 'unknown';
      const elapsed = now() - start;
      if (done(inst)) {
        if (last) logger.info(`RDS ${id}: ${status} after ${duration(elapsed)}`);
        return inst;
      }
      if (FAILED[status] !== undefined) {
        await deleteInstance(id, logger);
        throw new C2CError(
          `RDS instance ${id} of PR ${pr} is '${status}': ${FAILED[status]}. It is being deleted; the next run restores or claims another`,
        );
      }
      if (GONE.has(status))
        throw new C2CError(`RDS instance ${id} of PR ${pr} is '${status}' while PR ${pr} waited for ${goal}`);
      if (status !== last || now() - lastLine >= 60_000) {
        logger.info(
          `RDS ${id}: ${status}, waiting for ${goal} (${duration(elapsed)} so far, at most ${duration(waitTimeoutMs)})`,
        );
        last = status;
        lastLine = now();
      }
      if (elapsed >= waitTimeoutMs)
        throw new C2CError(
          `RDS instance ${id} was still '${status}' after ${duration(waitTimeoutMs)} of waiting for ${goal}. It stays PR ${pr}'s: the next run for PR ${pr} waits for it again, and down deletes it`,
        );
      await sleep(Math.min(pollMs, Math.max(1, waitTimeoutMs - elapsed)));
    }
  };

  /**
   * After a claim or a restore for PR n: when a concurrent run for the same pull request won another
   * instance, both keep the first of the pull request's instances (keepOrder) and the other goes
   * back to the pool (its `pr` tag removed), so one instance stays claimed. Read twice, a moment
   * apart: a run whose first read came before the other's tag was written sees it on the second.
   */
  const giveBack = async (m: Member, n: number, keep: string, logger: Logger): Promise<void> => {
    await call(`RemoveTagsFromResource ${m.id}`, logger, () =>
      client.send(new RemoveTagsFromResourceCommand({ ResourceName: m.arn, TagKeys: [PR_TAG] })),
    );
    logger.info(
      `RDS: PR ${n} holds ${keep} (claimed by a concurrent run at the same instant); ${m.id} goes back to the pool of ${source}`,
    );
  };

  const settle = async (n: number, mine: string, logger: Logger): Promise<string> => {
    for (let round = 1; round <= 2; round++) {
      if (round > 1 && settleMs > 0) await sleep(settleMs);
      const held = (await list(logger)).filter((m) => m.pr === n && !GONE.has(m.status)).sort(keepOrder);
      const keep = held[0]?.id ?? mine;
      if (keep === mine) continue;
      const extra = held.find((m) => m.id === mine);
      if (extra) await giveBack(extra, n, keep, logger);
      mine = keep;
    }
    return mine;
  };

  return {
    description: `RDS instances restored from the newest snapshot of ${config.sourceInstance}${regionText} (${config.instanceClass}, pool of ${config.pool})`,

    async claim(env: EnvRef, logger: Logger, o: ClaimOptions = {}): Promise<DatabaseInfo> {
      const n = env.number;
      const members = await list(logger);
      const held = members.filter((m) => m.pr === n && !GONE.has(m.status)).sort(keepOrder);
      let id: string;
      let fresh = false;
      if (held[0]) {
        id = held[0].id;
        logger.info(`RDS: ${id} is already PR ${n}'s database (${held[0].status})`);
        // More than one (claims at the same instant that did not settle): the first stays, the rest go back.
        for (const extra of held.slice(1)) await giveBack(extra, n, id, logger);
      } else {
        fresh = true;
        const won = await claimFromPool(n, members, logger);
        if (won) id = won.id;
        else {
          logger.info(
            `RDS: no unclaimed instance in the pool of ${source}; restoring one for PR ${n} (this takes minutes)`,
          );
          const snapshot = await newestSnapshot(logger);
          id = await restore(snapshot, await placement(logger), n, logger);
        }
        id = await settle(n, id, logger);
      }
      await waitUntil(id, 'available', (i) => i.DBInstanceStatus === 'available', logger, n);

      // The master password: set on a newly claimed instance (and on request); kept on an update.
      let password = !fresh && !o.rotate ? o.password : undefined;
      const changed = !password;
      if (!password) {
        password = generatePassword();
        logger.secret(password);
        await call(`ModifyDBInstance ${id} (new master password)`, logger, () =>
          client.send(
            new ModifyDBInstanceCommand({
              DBInstanceIdentifier: id,
              MasterUserPassword: password,
              ApplyImmediately: true,
            }),
          ),
        );
      }
      const inst = await waitUntil(
        id,
        changed ? 'the new master password' : 'available',
        (i) =>
          i.DBInstanceStatus === 'available' && (!changed || !i.PendingModifiedValues?.MasterUserPassword),
        logger,
        n,
      );
      if (!inst.Endpoint?.Address || !inst.Endpoint.Port)
        throw new C2CError(`RDS instance ${id} is available but has no endpoint`);
      const engine = inst.Engine ?? '';
      const tags = tagMap(inst.TagList);
      const snapshot = tags.get(SNAPSHOT_TAG);
      const taken = tags.get(SNAPSHOT_TIME_TAG);
      return {
        ...(snapshot
          ? { dataFrom: { kind: 'snapshot' as const, name: snapshot, ...(taken ? { at: taken } : {}) } }
          : {}),
        host: inst.Endpoint.Address,
        port: inst.Endpoint.Port,
        database: inst.DBName ?? (engine.startsWith('postgres') ? 'postgres' : ''),
        user: inst.MasterUsername ?? '',
        password,
        passwordChanged: changed,
        id,
        scheme: /mysql|mariadb/.test(engine) ? 'mysql' : 'postgres',
      };
    },

    async release(env: { number: number }, logger: Logger): Promise<boolean> {
      const mine = (await list(logger)).filter((m) => m.pr === env.number);
      for (const m of mine) {
        if (m.status === 'deleting') {
          logger.info(`RDS: ${m.id} of PR ${env.number} is already being deleted`);
          continue;
        }
        await deleteInstance(m.id, logger);
        logger.info(`RDS: deleting ${m.id} of PR ${env.number} (no final snapshot, automated backups too)`);
      }
      return mine.length > 0;
    },

    async refill(logger: Logger): Promise<{ created: string[] }> {
      const members = await list(logger);
      const unclaimed = members.filter((m) => m.pr === undefined);
      for (const m of unclaimed.filter((m) => FAILED[m.status] !== undefined)) {
        logger.warning(`RDS: pool member ${m.id} is '${m.status}' (${FAILED[m.status]}): deleting it`);
        await deleteInstance(m.id, logger);
      }
      const ready = unclaimed.filter((m) => m.status === 'available' || ON_ITS_WAY.has(m.status));
      // Rotation: an unclaimed member restored from a snapshot older than the newest is replaced, so
      // an environment never starts on data older than it has to.
      const snapshot = ready.length || config.pool > 0 ? await newestSnapshot(logger) : undefined;
      const newest = snapshot?.SnapshotCreateTime?.getTime() ?? 0;
      const stale = ready.filter((m) => {
        if (m.status !== 'available' || !snapshot) return false;
        const from = m.tags.get(SNAPSHOT_TAG);
        if (from === snapshot.DBSnapshotIdentifier) return false;
        // Its snapshot's time; for a member made before the tags, when it was made.
        const at = from
          ? Date.parse(m.tags.get(SNAPSHOT_TIME_TAG) ?? '')
          : (m.instance.InstanceCreateTime?.getTime() ?? NaN);
        return Number.isFinite(at) ? at < newest : !!from;
      });
      const missing = config.pool - (ready.length - stale.length);
      logger.info(
        `RDS: pool of ${source}: ${ready.length} of ${config.pool} unclaimed instance(s) available or on their way${stale.length ? `, ${stale.length} from a snapshot older than ${snapshot!.DBSnapshotIdentifier} (replaced)` : ''}${missing > 0 ? `; restoring ${missing}` : ''}`,
      );
      const created: string[] = [];
      if (missing > 0 && snapshot) {
        const place = await placement(logger);
        for (let i = 0; i < missing; i++) created.push(await restore(snapshot, place, undefined, logger));
      }
      // The replacements are on their way: the stale members go, each only while still unclaimed
      // (read again: a pull request that claimed one meanwhile keeps it).
      if (stale.length) {
        const now = new Map((await list(logger)).map((m) => [m.id, m]));
        for (const old of stale) {
          const m = now.get(old.id);
          if (!m || m.pr !== undefined || [...m.tags.keys()].some((k) => k.startsWith(CLAIM_TAG_PREFIX)))
            continue;
          logger.info(
            `RDS: deleting pool member ${m.id} (from snapshot ${m.tags.get(SNAPSHOT_TAG) ?? 'unknown'}): replaced by one from ${snapshot!.DBSnapshotIdentifier}`,
          );
          await deleteInstance(m.id, logger);
        }
      }
      return { created };
    },

    async held(logger: Logger): Promise<Map<number, string>> {
      const out = new Map<number, string>();
      for (const m of await list(logger))
        if (m.pr !== undefined && m.status !== 'deleting' && !out.has(m.pr)) out.set(m.pr, m.id);
      return new Map([...out].sort((a, b) => a[0] - b[0]));
    },

    async close(): Promise<void> {
      if (ownClient) client.destroy();
    },
  };
}
