import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { AwsCallError, awsCall } from '../../aws/index.js';
import { C2CError, InputError, type Logger, type RetryOptions } from '../../core/index.js';
import type { MachineOptions } from '../inputs.js';
import {
  A_CREATED,
  A_EXPIRES,
  A_REPOSITORY,
  MANAGED,
  PR_LABEL,
  PREFIX,
  SET,
  STATE,
  setKey,
  setShort,
  type SetIdentity,
} from '../state.js';

/** The tag naming the SSM parameter an instance publishes its kubeconfig at. */
export const T_KUBECONFIG = `${PREFIX}kubeconfig-parameter`;
/** A spare's slot of the warm pool (0 … warm-pool − 1). */
export const T_SLOT = `${PREFIX}fe-slot`;
/** The ports an environment's security group opens to `allow-cidrs`, and what listens there. */
export const PORTS = [
  { port: 80, what: 'the Ingresses (HTTP)' },
  { port: 443, what: 'the Ingresses (HTTPS)' },
  { port: 8443, what: 'the API server' },
  { port: 30090, what: 'the Kubernetes dashboard' },
  { port: 9999, what: 'the log viewer' },
] as const;

const EC2_PERMISSIONS =
  'EC2 DescribeImages, DescribeInstanceTypes, DescribeSubnets, DescribeInstances, DescribeSecurityGroups, RunInstances, CreateTags, TerminateInstances, CreateSecurityGroup, AuthorizeSecurityGroupIngress and DeleteSecurityGroup (and iam:PassRole for instance-profile)';
const SSM_PERMISSIONS =
  'SSM GetParameter, GetParametersByPath, PutParameter and DeleteParameter (and kms:Decrypt)';
/** Where the user data script is: beside the bundle (dist/user-data.sh), or in the repository. */
const USER_DATA_PLACES = ['user-data.sh', '../infra/ec2/user-data.sh', '../../../infra/ec2/user-data.sh'];

/** One instance of the set, as its tags and EC2 say. */
export interface Machine {
  id: string;
  /** pending, running, stopping, stopped, shutting-down, terminated. */
  state: string;
  number?: number;
  spare: boolean;
  slot?: number;
  parameter: string;
  securityGroups: string[];
  /** The private address (what the runner's network reaches), and the public one when it has one. */
  address?: string;
  publicAddress?: string;
  launchedAt?: string;
  expiresAt?: string;
  imageId?: string;
}

/** The image, type and subnet, checked with EC2 before the first launch of a run. */
export interface Checked {
  imageId: string;
  imageName: string;
  vpcId: string;
}

export interface MachinesOptions {
  ec2?: EC2Client;
  ssm?: SSMClient;
  retry?: RetryOptions;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The set's instances on EC2 and its records in SSM Parameter Store: the machine provider's one
 * door to AWS. What the set owns carries its tags (instances, security groups) or lives under its
 * own parameter path (`/commit-to-cloud/feature-env/<short>/`); nothing else is ever changed.
 *
 * The exclusive claims are SSM parameters created without overwrite: PutParameter refuses a second
 * writer (ParameterAlreadyExists), which tags cannot (two runs may both tag an instance and both
 * read their own tag back). `pr-<n>` is the claim of a pull request's environment, `claim-<id>` a
 * spare taken by one pull request, `slot-<i>` a place in the warm pool.
 */
export class Machines {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly key: string;
  readonly short: string;
  readonly root: string;
  private checked: Checked | undefined;
  private readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly opts: MachineOptions,
    readonly set: SetIdentity,
    readonly logger: Logger,
    o: MachinesOptions = {},
  ) {
    this.ec2 = o.ec2 ?? new EC2Client({ region: opts.region, maxAttempts: 1 });
    this.ssm = o.ssm ?? new SSMClient({ region: opts.region, maxAttempts: 1 });
    this.key = setKey(set);
    this.short = setShort(set);
    this.root = `/commit-to-cloud/feature-env/${this.short}`;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.retry = o.retry;
  }
  private readonly retry: RetryOptions | undefined;

  private call<T>(service: 'EC2' | 'SSM', what: string, fn: () => Promise<T>): Promise<T> {
    return awsCall(
      {
        service,
        permissions: service === 'EC2' ? EC2_PERMISSIONS : SSM_PERMISSIONS,
        ...(this.retry ? { retry: this.retry } : {}),
      },
      what,
      this.logger,
      fn,
    );
  }

  /**
   * What only EC2 can tell, before anything is launched: the newest available image matching
   * `ami-name`, the instance type, the subnet (and its VPC, for the security groups). One error
   * naming the input for each.
   */
  async check(): Promise<Checked> {
    if (this.checked) return this.checked;
    const { amiName, amiOwner, instanceType, subnetId, region } = this.opts;
    const images = await this.call('EC2', 'DescribeImages', () =>
      this.ec2.send(
        new DescribeImagesCommand({
          Owners: [amiOwner],
          Filters: [
            { Name: 'name', Values: [amiName] },
            { Name: 'state', Values: ['available'] },
          ],
        }),
      ),
    );
    const newest = (images.Images ?? [])
      .filter((i) => i.ImageId)
      .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
    if (!newest)
      throw new InputError(
        'ami-name',
        `no available image matches '${amiName}' (owner ${amiOwner}) in ${region}`,
        "the name pattern of images that exist there, e.g. 'minikube-service-*' (infra/image-builder makes them), and ami-owner their owner",
      );
    try {
      await this.call('EC2', 'DescribeInstanceTypes', () =>
        this.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] })),
      );
    } catch (e) {
      if (e instanceof AwsCallError && e.awsName === 'InvalidInstanceType')
        throw new InputError(
          'instance-type',
          `'${instanceType}' is not an instance type EC2 offers in ${region}`,
          "a type such as 't3.xlarge' (4 vCPU, 16 GiB: room for about 30 small services)",
        );
      throw e;
    }
    let vpcId: string | undefined;
    try {
      const subnets = await this.call('EC2', 'DescribeSubnets', () =>
        this.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })),
      );
      vpcId = subnets.Subnets?.[0]?.VpcId;
    } catch (e) {
      if (!(e instanceof AwsCallError && /^InvalidSubnetID/.test(e.awsName ?? ''))) throw e;
    }
    if (!vpcId)
      throw new InputError(
        'subnet-id',
        `there is no subnet '${subnetId}' in ${region}`,
        "a subnet of the VPC the runners reach, e.g. 'subnet-0abc1234def567890'",
      );
    this.checked = { imageId: newest.ImageId!, imageName: newest.Name ?? newest.ImageId!, vpcId };
    return this.checked;
  }

  /** The set's instances that are not terminated (optionally one pull request's, or the spares). */
  async list(o: { number?: number; spares?: boolean; wholeRepository?: boolean } = {}): Promise<Machine[]> {
    const filters = [
      { Name: `tag:${MANAGED}`, Values: ['true'] },
      o.wholeRepository
        ? { Name: `tag:${A_REPOSITORY}`, Values: [this.set.repository] }
        : { Name: `tag:${SET}`, Values: [this.key] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ...(o.number ? [{ Name: `tag:${PR_LABEL}`, Values: [String(o.number)] }] : []),
      ...(o.spares ? [{ Name: `tag:${STATE}`, Values: ['spare'] }] : []),
    ];
    const out: Machine[] = [];
    let token: string | undefined;
    do {
      const r = await this.call('EC2', 'DescribeInstances', () =>
        this.ec2.send(
          new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) }),
        ),
      );
      for (const res of r.Reservations ?? [])
        for (const i of res.Instances ?? []) out.push(this.machineOf(i));
      token = r.NextToken;
    } while (token);
    // Only what carries this set's tags, checked again here (a filter the server ignored is not trusted).
    return o.wholeRepository
      ? out.filter((m) => m.parameter)
      : out.filter((m) => m.parameter.startsWith(`${this.root}/`));
  }

  /** One instance by id, whatever its state; undefined when EC2 knows none. */
  async describe(id: string): Promise<Machine | undefined> {
    try {
      const r = await this.call('EC2', 'DescribeInstances', () =>
        this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })),
      );
      const i = r.Reservations?.[0]?.Instances?.[0];
      return i ? this.machineOf(i) : undefined;
    } catch (e) {
      if (e instanceof AwsCallError && /^InvalidInstanceID/.test(e.awsName ?? '')) return undefined;
      throw e;
    }
  }

  private machineOf(i: Instance): Machine {
    const tags = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    const n = Number(tags[PR_LABEL]);
    const slot = Number(tags[T_SLOT]);
    return {
      id: i.InstanceId ?? '',
      state: i.State?.Name ?? 'unknown',
      ...(Number.isSafeInteger(n) && n > 0 ? { number: n } : {}),
      spare: tags[STATE] === 'spare',
      ...(tags[T_SLOT] !== undefined && Number.isSafeInteger(slot) ? { slot } : {}),
      parameter: tags[T_KUBECONFIG] ?? '',
      securityGroups: (i.SecurityGroups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
      ...(i.PrivateIpAddress ? { address: i.PrivateIpAddress } : {}),
      ...(i.PublicIpAddress ? { publicAddress: i.PublicIpAddress } : {}),
      ...(i.LaunchTime ? { launchedAt: new Date(i.LaunchTime).toISOString() } : {}),
      ...(tags[A_EXPIRES] ? { expiresAt: tags[A_EXPIRES] } : {}),
      ...(i.ImageId ? { imageId: i.ImageId } : {}),
    };
  }

  /** The set's tags, with the pull request's (or a spare's) and the expiry. */
  private tags(o: {
    number?: number;
    slot?: number;
    expiresAt?: string;
    parameter?: string;
    createdAt?: string;
  }): Tag[] {
    const t: Record<string, string> = {
      [MANAGED]: 'true',
      [SET]: this.key,
      [A_REPOSITORY]: this.set.repository,
      [STATE]: o.number ? 'active' : 'spare',
      Name: `${this.set.prefix}${this.short}-${o.number ? `pr-${o.number}` : 'spare'}`,
      ...(o.number ? { [PR_LABEL]: String(o.number) } : {}),
      ...(o.slot !== undefined ? { [T_SLOT]: String(o.slot) } : {}),
      ...(o.expiresAt ? { [A_EXPIRES]: o.expiresAt } : {}),
      ...(o.parameter ? { [T_KUBECONFIG]: o.parameter } : {}),
      ...(o.createdAt ? { [A_CREATED]: o.createdAt } : {}),
    };
    return Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
  }

  /**
   * Launches one instance from the checked image: first a security group of its own (admitting
   * `allow-cidrs` to PORTS only), then the instance with the set's tags and the user data. A
   * refused launch (capacity, a limit, a profile) leaves nothing: its security group goes again.
   */
  async launch(o: {
    number?: number;
    slot?: number;
    expiresAt?: string;
    images: string[];
    ecr?: string;
  }): Promise<Machine> {
    const { imageId, imageName, vpcId } = await this.check();
    const token = randomBytes(6).toString('hex');
    const parameter = `${this.root}/kubeconfig/${token}`;
    const who = o.number ? `#${o.number}` : 'a spare';
    // Made first: a bundle without the script is refused before anything is created.
    const data = Buffer.from(
      userData({
        region: this.opts.region,
        parameter,
        images: o.images,
        ...(o.ecr ? { ecr: o.ecr } : {}),
      }),
    ).toString('base64');
    // EC2 takes at most 16 KB of user data (before base64).
    if (Buffer.byteLength(data, 'base64') > 16_384)
      throw new C2CError(
        `The user data of ${who} is ${Buffer.byteLength(data, 'base64')} bytes with its ${o.images.length} images under test; EC2 takes at most 16384. Pass fewer images under test (the others are cached in the image).`,
      );
    const group = await this.call('EC2', 'CreateSecurityGroup', () =>
      this.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `c2c-${this.short}-${o.number ? `pr-${o.number}` : 'spare'}-${token}`,
          Description: `commit-to-cloud feature environment ${who} of ${this.set.repository}`,
          VpcId: vpcId,
          TagSpecifications: [
            {
              ResourceType: 'security-group',
              Tags: this.tags({ ...o, parameter, createdAt: new Date(this.now()).toISOString() }),
            },
          ],
        }),
      ),
    );
    const groupId = group.GroupId!;
    try {
      await this.call('EC2', 'AuthorizeSecurityGroupIngress', () =>
        this.ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: PORTS.map(({ port, what }) => ({
              IpProtocol: 'tcp',
              FromPort: port,
              ToPort: port,
              IpRanges: this.opts.allowCidrs
                .filter((c) => !c.includes(':'))
                .map((CidrIp) => ({ CidrIp, Description: what })),
              Ipv6Ranges: this.opts.allowCidrs
                .filter((c) => c.includes(':'))
                .map((CidrIpv6) => ({ CidrIpv6, Description: what })),
            })),
          }),
        ),
      );
      const r = await this.call('EC2', 'RunInstances', () =>
        this.ec2.send(
          new RunInstancesCommand({
            ImageId: imageId,
            InstanceType: this.opts.instanceType as never,
            MinCount: 1,
            MaxCount: 1,
            SubnetId: this.opts.subnetId,
            SecurityGroupIds: [groupId],
            ...(this.opts.instanceProfile ? { IamInstanceProfile: { Name: this.opts.instanceProfile } } : {}),
            // IMDSv2 only: the user data asks for a session token first.
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
            UserData: data,
            ClientToken: `c2c-${this.short}-${token}`,
            TagSpecifications: [
              { ResourceType: 'instance', Tags: this.tags({ ...o, parameter }) },
              { ResourceType: 'volume', Tags: this.tags({ ...o, parameter }) },
            ],
          }),
        ),
      );
      const instance = r.Instances?.[0];
      if (!instance?.InstanceId) throw new C2CError('EC2 RunInstances answered without an instance');
      const m = this.machineOf(instance);
      this.logger.info(
        `launched ${m.id} (${this.opts.instanceType}, image ${imageName} ${imageId}) for ${who}, security group ${groupId}`,
      );
      return m;
    } catch (e) {
      await this.deleteGroup(groupId, { waitMs: 0 }).catch(() => false);
      if (e instanceof AwsCallError)
        throw new C2CError(
          `EC2 refused to launch the instance of ${who} (${this.opts.instanceType} in ${this.opts.subnetId}): ${e.message}.${
            /InsufficientInstanceCapacity|InstanceLimitExceeded|Unsupported/.test(e.awsName ?? '')
              ? ' Try another instance-type, or a subnet-id in another availability zone, or run again later.'
              : ''
          } Nothing was left: its security group ${groupId} was deleted.`,
          { cause: e },
        );
      throw e;
    }
  }

  /** Changes an instance's tags (a spare becoming a pull request's, an expiry pushed forward). */
  async retag(m: Machine, o: { number: number; expiresAt: string }): Promise<void> {
    await this.call('EC2', 'CreateTags', () =>
      this.ec2.send(
        new CreateTagsCommand({
          Resources: [m.id, ...m.securityGroups],
          Tags: this.tags({ ...o, parameter: m.parameter }),
        }),
      ),
    );
  }

  /** The published kubeconfig (SecureString, decrypted), or undefined while there is none. */
  async kubeconfig(m: Machine): Promise<string | undefined> {
    return (await this.readParameter(m.parameter, { decrypt: true }))?.value;
  }

  /**
   * Terminates the instance and removes its security group and its parameter. The group can go
   * only once the instance is gone (EC2 says DependencyViolation until then): tried for `waitMs`,
   * then left for reap (it carries the set's tags).
   */
  async terminate(m: Machine, o: { waitMs: number }): Promise<{ groupsLeft: string[] }> {
    try {
      await this.call('EC2', 'TerminateInstances', () =>
        this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [m.id] })),
      );
    } catch (e) {
      if (!(e instanceof AwsCallError && /^InvalidInstanceID/.test(e.awsName ?? ''))) throw e;
    }
    if (m.parameter) await this.deleteParameter(m.parameter);
    await this.deleteParameter(`${this.root}/claim-${m.id}`);
    const groupsLeft: string[] = [];
    for (const g of m.securityGroups)
      if (await this.ownGroup(g)) if (!(await this.deleteGroup(g, o))) groupsLeft.push(g);
    return { groupsLeft };
  }

  /** Whether a security group carries this set's tags (only those are ever deleted). */
  private async ownGroup(id: string): Promise<boolean> {
    return (await this.groups({ ids: [id] })).length > 0;
  }

  /** The set's security groups (optionally some by id, or only those made more than olderThanMs ago). */
  async groups(o: { ids?: string[]; olderThanMs?: number } = {}): Promise<string[]> {
    try {
      const r = await this.call('EC2', 'DescribeSecurityGroups', () =>
        this.ec2.send(
          new DescribeSecurityGroupsCommand({
            ...(o.ids ? { GroupIds: o.ids } : {}),
            Filters: [
              { Name: `tag:${MANAGED}`, Values: ['true'] },
              { Name: `tag:${SET}`, Values: [this.key] },
            ],
          }),
        ),
      );
      const now = this.now();
      return (r.SecurityGroups ?? [])
        .filter((g) => {
          const tags = Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
          if (tags[SET] !== this.key) return false;
          if (o.olderThanMs === undefined) return true;
          const made = Date.parse(tags[A_CREATED] ?? '');
          return Number.isFinite(made) && now - made >= o.olderThanMs;
        })
        .map((g) => g.GroupId ?? '')
        .filter(Boolean);
    } catch (e) {
      if (e instanceof AwsCallError && /^InvalidGroup/.test(e.awsName ?? '')) return [];
      throw e;
    }
  }

  /** Deletes a security group, waiting out DependencyViolation (its instance still going) for waitMs. */
  async deleteGroup(id: string, o: { waitMs: number }): Promise<boolean> {
    const until = this.now() + o.waitMs;
    for (;;) {
      try {
        await this.call('EC2', 'DeleteSecurityGroup', () =>
          this.ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })),
        );
        return true;
      } catch (e) {
        if (e instanceof AwsCallError && /^InvalidGroup/.test(e.awsName ?? '')) return true;
        if (!(e instanceof AwsCallError && e.awsName === 'DependencyViolation')) throw e;
        if (this.now() >= until) {
          this.logger.info(
            `security group ${id} is still in use (its instance is terminating): reap removes it`,
          );
          return false;
        }
        await this.sleep(5000);
      }
    }
  }

  // SSM: the kubeconfigs and the claims.

  /** A parameter of the set (name relative to its path, or absolute), with when it was last written. */
  async readParameter(
    name: string,
    o: { decrypt?: boolean } = {},
  ): Promise<{ value: string; modifiedAt: number } | undefined> {
    const full = name.startsWith('/') ? name : `${this.root}/${name}`;
    try {
      const r = await this.call('SSM', 'GetParameter', () =>
        this.ssm.send(new GetParameterCommand({ Name: full, WithDecryption: o.decrypt ?? false })),
      );
      const p = r.Parameter;
      return p?.Value !== undefined
        ? { value: p.Value, modifiedAt: p.LastModifiedDate ? new Date(p.LastModifiedDate).getTime() : 0 }
        : undefined;
    } catch (e) {
      if (e instanceof AwsCallError && e.awsName === 'ParameterNotFound') return undefined;
      throw e;
    }
  }

  /** Creates a parameter of the set only when it does not exist: false when another run has it. */
  async putNew(name: string, value: string): Promise<boolean> {
    try {
      await this.call('SSM', 'PutParameter', () =>
        this.ssm.send(
          new PutParameterCommand({
            Name: `${this.root}/${name}`,
            Value: value,
            Type: 'String',
            Overwrite: false,
          }),
        ),
      );
      return true;
    } catch (e) {
      if (e instanceof AwsCallError && e.awsName === 'ParameterAlreadyExists') return false;
      throw e;
    }
  }

  /** Writes a parameter of the set (it is this run's: a claim it holds). */
  async put(name: string, value: string): Promise<void> {
    await this.call('SSM', 'PutParameter', () =>
      this.ssm.send(
        new PutParameterCommand({
          Name: `${this.root}/${name}`,
          Value: value,
          Type: 'String',
          Overwrite: true,
        }),
      ),
    );
  }

  async deleteParameter(name: string): Promise<boolean> {
    const full = name.startsWith('/') ? name : `${this.root}/${name}`;
    if (!full.startsWith(`${this.root}/`)) return false;
    try {
      await this.call('SSM', 'DeleteParameter', () =>
        this.ssm.send(new DeleteParameterCommand({ Name: full })),
      );
      return true;
    } catch (e) {
      if (e instanceof AwsCallError && e.awsName === 'ParameterNotFound') return false;
      throw e;
    }
  }

  /** Every parameter of the set (the claims, the slots, the kubeconfigs), names relative to its path. */
  async parameters(): Promise<Array<{ name: string; value: string; modifiedAt: number }>> {
    const out: Array<{ name: string; value: string; modifiedAt: number }> = [];
    let token: string | undefined;
    do {
      const r = await this.call('SSM', 'GetParametersByPath', () =>
        this.ssm.send(
          new GetParametersByPathCommand({
            Path: this.root,
            Recursive: true,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const p of r.Parameters ?? [])
        if (p.Name?.startsWith(`${this.root}/`))
          out.push({
            name: p.Name.slice(this.root.length + 1),
            // A kubeconfig's value is not read here (it is not decrypted): only its name matters.
            value: p.Type === 'SecureString' ? '' : (p.Value ?? ''),
            modifiedAt: p.LastModifiedDate ? new Date(p.LastModifiedDate).getTime() : 0,
          });
      token = r.NextToken;
    } while (token);
    return out;
  }

  close(): void {
    this.ec2.destroy();
    this.ssm.destroy();
  }
}

/**
 * The user data the action sends: a prologue setting the script's inputs (shell-quoted), then
 * infra/ec2/user-data.sh as it is (shipped beside the bundle).
 */
export function userData(o: { region: string; parameter: string; images: string[]; ecr?: string }): string {
  const script = readUserDataScript();
  const q = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  const [shebang, ...rest] = script.split('\n');
  return [
    shebang,
    '# Set by action-feature-env (isolation: ec2):',
    `C2C_REGION=${q(o.region)}`,
    `C2C_PARAMETER=${q(o.parameter)}`,
    `C2C_IMAGES=${q(o.images.join('\n'))}`,
    `C2C_ECR=${q(o.ecr ?? '')}`,
    ...rest,
  ].join('\n');
}

function readUserDataScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of USER_DATA_PLACES) {
    const file = path.resolve(here, p);
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  }
  throw new C2CError(
    `The user data script (infra/ec2/user-data.sh) is not beside ${here}: the bundle is incomplete`,
  );
}
