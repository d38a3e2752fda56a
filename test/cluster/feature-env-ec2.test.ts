import { createServer, request, type Server } from 'node:http';
import { readFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RunInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { closeHttpAgents } from '../../src/core/http.js';
import { nullLogger } from '../../src/core/logger.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { T_KUBECONFIG } from '../../src/featureenv/machine/index.js';
import { A_EXPIRES, MANAGED, PR_LABEL, SET, STATE, setKey } from '../../src/featureenv/state.js';
import { startGitHubFake, type GitHubFake } from '../fakes/github.js';
import { deploymentManifest } from '../fixtures/workloads.js';
import { prepareEc2Account, publishKubeconfigs, tagOf } from '../helpers/ec2.js';
import { runFe, type PrEvent } from '../helpers/feature-env.js';
import { POSTGRES_INSTALL, connectWithSecret, havePostgres, startPostgres } from '../helpers/postgres.js';
import { postgresName } from '../../src/featureenv/db/postgres.js';
import { haveMoto, startMoto, type MotoServer } from '../helpers/moto.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import type { Cluster } from '../helpers/cluster.js';

/**
 * isolation: ec2 with the real AWS SDK against moto (EC2: images, instances, tags, security groups;
 * SSM parameters) and the genuine control plane playing each instance's Minikube: seeing a tagged
 * instance run, the test publishes the control plane's kubeconfig at the SSM parameter its tag
 * names, as the user data does on the instance. Then the whole path from label to ready runs.
 */
const REG = 'registry.example:5000/shop';
const USER_DATA = path.join(import.meta.dirname, '../../infra/ec2/user-data.sh');
const CIDRS = ['10.20.0.0/16', '192.168.7.0/24'];

describe.skipIf(!haveCluster() || !haveMoto())(
  'feature environments on EC2 instances (moto, genuine control plane)',
  () => {
    let cluster: Cluster;
    let moto: MotoServer;
    let gh: GitHubFake;
    let ws: string;
    let admin: KubeClient;
    let ec2: EC2Client;
    let ssm: SSMClient;
    let subnet: string;
    let newestImage: string;
    let prefix: string;
    let n = 700;
    /** The stand-in "Minikube" of every instance: publishes its kubeconfig (or, paused, never does). */
    let minikube: ReturnType<typeof publishKubeconfigs>;
    /** The endpoint the engine's SDK is pointed at: moto, or the refusing proxy in front of it. */
    let proxy: { server: Server; url: string; refuseRunInstances: boolean } | undefined;

    const clients = (endpoint: string) => {
      const cfg = { region: moto.region, endpoint, credentials: moto.credentials, maxAttempts: 1 };
      return { ec2: new EC2Client(cfg), ssm: new SSMClient(cfg) };
    };

    beforeAll(async () => {
      [cluster, moto, gh] = await Promise.all([
        sharedCluster(),
        startMoto(),
        startGitHubFake({ owner: 'acme', repo: 'shop' }),
      ]);
      gh.collaborators.set('maintainer', 'write');
      ({ ec2, ssm } = clients(moto.endpoint));
      ws = await mkdtemp(path.join(os.tmpdir(), 'c2c-fe-ec2-'));
      await mkdir(path.join(ws, 'k8s'));
      await writeFile(
        path.join(ws, 'k8s/app.yaml'),
        [
          deploymentManifest('api', `${REG}/api:main`),
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'api' },
            spec: { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 8080 }] },
          },
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'Ingress',
            metadata: { name: 'api' },
            spec: {
              rules: [
                {
                  host: 'api.example.com',
                  http: {
                    paths: [
                      {
                        path: '/',
                        pathType: 'Prefix',
                        backend: { service: { name: 'api', port: { number: 80 } } },
                      },
                    ],
                  },
                },
              ],
            },
          },
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      );
      admin = new KubeClient(await loadKubeconfig({ content: cluster.kubeconfig }, nullLogger), {
        logger: nullLogger,
      });
      minikube = publishKubeconfigs(ec2, ssm, cluster.kubeconfig);
    }, CLUSTER_SETUP_TIMEOUT_MS);

    afterAll(async () => {
      minikube?.stop();
      proxy?.server.close();
      ec2?.destroy();
      ssm?.destroy();
      await gh?.stop();
      await moto?.stop();
      if (ws) await rm(ws, { recursive: true, force: true });
      closeHttpAgents();
    });

    beforeEach(async () => {
      minikube.publishing = true;
      await moto.reset();
      minikube.published.clear();
      if (proxy) proxy.refuseRunInstances = false;
      ({ subnet, newestImage } = await prepareEc2Account(ec2));
    });
    afterEach(() => {
      minikube.publishing = true;
    });

    /** A pull request of its own, labeled by the maintainer; its environments a set of their own. */
    function pr() {
      const number = ++n;
      prefix = `ec${number}-`;
      const sha = `${number}`.padStart(40, 'e');
      gh.addPullRequest({ number, headSha: sha, labels: [] });
      gh.label(number, 'feature-env', 'maintainer');
      const ev: PrEvent = { action: 'labeled', number, label: 'feature-env', labels: ['feature-env'], sha };
      return { number, sha, ev };
    }
    const base = (number: number) => ({
      isolation: 'ec2',
      'ami-name': 'minikube-service-*',
      'subnet-id': subnet,
      'allow-cidrs': CIDRS.join(', '),
      'aws-region': moto.region,
      manifests: 'k8s/',
      images: `${REG}/api:pr-${number}`,
      'pin-digests': 'false',
      'namespace-prefix': prefix,
      timeout: '60s',
    });
    const extra = (o: { endpoint?: string } = {}) => ({
      workspace: ws,
      commentIntervalMs: 0,
      machines: {
        ...clients(o.endpoint ?? moto.endpoint),
        pollMs: 100,
        groupWaitMs: 0,
        retry: { baseDelayMs: 1, attempts: 2 },
      },
    });
    const key = () => setKey({ repository: 'acme/shop', prefix, label: 'feature-env' });
    const tag = tagOf;
    /** The set's instances, terminated ones too (moto keeps them). */
    const instances = async (): Promise<Instance[]> =>
      (
        await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${SET}`, Values: [key()] }] }))
      ).Reservations!.flatMap((r) => r.Instances ?? []);
    const live = async () =>
      (await instances()).filter((i) => !['terminated', 'shutting-down'].includes(i.State!.Name!));
    const groups = async () =>
      (
        await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${SET}`, Values: [key()] }] }),
        )
      ).SecurityGroups ?? [];
    const parameters = async () =>
      (
        (await ssm.send(new GetParametersByPathCommand({ Path: '/commit-to-cloud', Recursive: true })))
          .Parameters ?? []
      ).map((p) => p.Name!);
    const comment = (number: number) => gh.comments.filter((c) => c.issue === number).at(-1)?.body ?? '';

    it('labeled → an instance from the newest image, tagged, its own security group; ready with the same engine; synchronize updates it; unlabeled terminates it and removes what it had', async () => {
      const { number, sha, ev } = pr();
      const up = await runFe(gh, ev, base(number), extra());
      expect(up.r.status, up.logger.text()).toBe('up');
      expect(up.r.instanceId).toMatch(/^i-[0-9a-f]+$/);
      const [inst, ...more] = await live();
      expect(more).toEqual([]);
      expect(inst!.InstanceId).toBe(up.r.instanceId);
      expect(inst!.ImageId).toBe(newestImage);
      expect(inst!.InstanceType).toBe('t3.xlarge');
      expect(inst!.SubnetId).toBe(subnet);
      expect(tag(inst!, MANAGED)).toBe('true');
      expect(tag(inst!, PR_LABEL)).toBe(String(number));
      expect(tag(inst!, STATE)).toBe('active');
      expect(Date.parse(tag(inst!, A_EXPIRES)!)).toBeGreaterThan(Date.now() + 70 * 3600_000);
      const parameter = tag(inst!, T_KUBECONFIG)!;
      expect(parameter).toMatch(/^\/commit-to-cloud\/feature-env\/[0-9a-f]{6}\/kubeconfig\/[0-9a-f]{12}$/);

      // Its own security group admits allow-cidrs only, to the environment's ports only.
      const [group, ...otherGroups] = await groups();
      expect(otherGroups).toEqual([]);
      expect(inst!.SecurityGroups!.map((g) => g.GroupId)).toEqual([group!.GroupId]);
      const rules = group!.IpPermissions!.map((p) => [
        p.FromPort,
        p.ToPort,
        p.IpRanges!.map((r) => r.CidrIp).sort(),
      ]);
      expect(rules.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
        [80, 443, 8443, 9999, 30090].map((p) => [p, p, [...CIDRS].sort()]),
      );

      // The user data is infra/ec2/user-data.sh after the prologue naming the parameter and the images under test.
      const ud = Buffer.from(
        (
          await ec2.send(
            new DescribeInstanceAttributeCommand({ InstanceId: inst!.InstanceId!, Attribute: 'userData' }),
          )
        ).UserData!.Value!,
        'base64',
      ).toString('utf8');
      expect(ud).toContain(`C2C_PARAMETER='${parameter}'`);
      expect(ud).toContain(`C2C_IMAGES='${REG}/api:pr-${number}'`);
      expect(ud).toContain(`C2C_REGION='${moto.region}'`);
      expect(ud.endsWith((await readFile(USER_DATA, 'utf8')).split('\n').slice(1).join('\n'))).toBe(true);

      // Deployed into the instance's cluster by the namespace engine: the image under test, the hosts on its address.
      const address = inst!.PublicIpAddress ?? inst!.PrivateIpAddress!;
      expect(up.r.url).toBe(`http://api-pr-${number}.${address}.nip.io`);
      const d = await admin.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: up.r.namespace,
        name: 'api',
      });
      expect(JSON.stringify(d?.spec)).toContain(`${REG}/api:pr-${number}`);
      const body = comment(number);
      expect(body).toContain(`http://${address}:30090/`);
      expect(body).toContain(`http://${address}:9999/`);
      expect(body).toContain(`api-pr-${number}.${address}.nip.io`);
      expect(gh.deployments.filter((x) => x.environment === `feature-env/pr-${number}`)).toHaveLength(1);

      // A push: the same instance, updated.
      const sync = await runFe(
        gh,
        { ...ev, action: 'synchronize', label: undefined, sha },
        base(number),
        extra(),
      );
      expect(sync.r.status, sync.logger.text()).toBe('updated');
      expect(sync.r.instanceId).toBe(up.r.instanceId);
      expect(await live()).toHaveLength(1);

      // The label goes: terminated, and its security group, parameter and claim with it.
      gh.label(number, 'feature-env', 'maintainer', 'unlabeled');
      const down = await runFe(
        gh,
        { action: 'unlabeled', number, label: 'feature-env', labels: [], sha },
        base(number),
        extra(),
      );
      expect(down.r.status, down.logger.text()).toBe('down');
      expect(await live()).toEqual([]);
      expect((await instances()).find((i) => i.InstanceId === up.r.instanceId)!.State!.Name).toBe(
        'terminated',
      );
      expect(await groups()).toEqual([]);
      expect(await parameters()).toEqual([]);
      expect(comment(number)).toContain(`Instance \`${up.r.instanceId}\` is gone`);
    });

    it('bad input is one clear error before anything is launched: no image matching ami-name, an unknown instance type, a subnet that is not there', async () => {
      const { number, ev } = pr();
      const cases: Array<[Record<string, string>, RegExp]> = [
        [
          { 'ami-name': 'nothing-like-it-*' },
          /Input 'ami-name': no available image matches 'nothing-like-it-\*' \(owner self\)/,
        ],
        [
          { 'instance-type': 't3.enormous' },
          /Input 'instance-type': 't3\.enormous' is not an instance type EC2 offers/,
        ],
        [
          { 'subnet-id': 'subnet-0123456789abcdef0' },
          /Input 'subnet-id': there is no subnet 'subnet-0123456789abcdef0'/,
        ],
      ];
      for (const [raw, error] of cases) {
        await expect(runFe(gh, ev, { ...base(number), ...raw }, extra())).rejects.toThrow(error);
        expect(await instances()).toEqual([]);
        expect(await groups()).toEqual([]);
        expect(await parameters()).toEqual([]);
        expect(comment(number)).toBe('');
      }
    });

    it('an instance that never publishes its kubeconfig: terminated after vm-ready-timeout, nothing left, and the comment says so', async () => {
      minikube.publishing = false;
      const { number, ev } = pr();
      await expect(runFe(gh, ev, { ...base(number), 'vm-ready-timeout': '2s' }, extra())).rejects.toThrow(
        /did not become ready within vm-ready-timeout \(2s\): it never published its kubeconfig at SSM parameter \/commit-to-cloud\/.* It was terminated/,
      );
      expect(await live()).toEqual([]);
      expect(await instances()).toHaveLength(1);
      expect(await groups()).toEqual([]);
      expect(await parameters()).toEqual([]);
      expect(comment(number)).toMatch(/did not become ready within vm-ready-timeout/);
    });

    it('a launch EC2 refuses for capacity: one clear error, said at once, and nothing is left (its security group deleted)', async () => {
      proxy ??= await refusingProxy(moto.endpoint);
      proxy.refuseRunInstances = true;
      const { number, ev } = pr();
      await expect(runFe(gh, ev, base(number), extra({ endpoint: proxy.url }))).rejects.toThrow(
        /EC2 refused to launch the instance of #\d+ \(t3\.xlarge in subnet-\w+\): .*InsufficientInstanceCapacity.*Try another instance-type.*Nothing was left/,
      );
      expect(await instances()).toEqual([]);
      expect(await groups()).toEqual([]);
      expect(await parameters()).toEqual([]);
    });

    it('a down while the instance is still starting: terminated, its group and parameter gone, and the waiting up stops saying why', async () => {
      minikube.publishing = false;
      const { number, sha, ev } = pr();
      const upRun = runFe(gh, ev, { ...base(number), 'vm-ready-timeout': '60s' }, extra()).then(
        (x) => ({ ok: x }),
        (e: Error) => ({ error: e }),
      );
      for (let i = 0; i < 100 && !(await live()).length; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await live()).toHaveLength(1);
      gh.label(number, 'feature-env', 'maintainer', 'unlabeled');
      const down = await runFe(
        gh,
        { action: 'unlabeled', number, label: 'feature-env', labels: [], sha },
        base(number),
        extra(),
      );
      expect(down.r.status, down.logger.text()).toBe('down');
      const upDone = await upRun;
      expect('error' in upDone && upDone.error.message).toMatch(
        /was terminated while it was starting \(the environment was taken down\)/,
      );
      expect(await live()).toEqual([]);
      expect(await groups()).toEqual([]);
      expect(await parameters()).toEqual([]);
    });

    it("the database providers work unchanged: postgres-template clones its database, its Secret goes into the instance's cluster, down drops it", async () => {
      if (!havePostgres()) throw new Error(`these tests need PostgreSQL: ${POSTGRES_INSTALL}`);
      const server = await startPostgres();
      const pg = await server.connect();
      try {
        await pg.query('CREATE DATABASE shop_integration');
        const tpl = await server.connect({ database: 'shop_integration' });
        await tpl.query("CREATE TABLE items (name text); INSERT INTO items VALUES ('sample')");
        await tpl.end();
        const { number, sha, ev } = pr();
        const raw = {
          ...base(number),
          database: 'postgres-template',
          'db-url': server.url(),
          'db-template': 'shop_integration',
        };
        const up = await runFe(gh, ev, raw, extra());
        expect(up.r.status, up.logger.text()).toBe('up');
        const secret = (await admin.get({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: up.r.namespace,
          name: 'database',
        })) as unknown as {
          data: Record<string, string>;
        };
        const v = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8');
        expect(v('database')).toBe(postgresName(key(), number));
        const env = await connectWithSecret(v);
        expect((await env.query('SELECT name FROM items')).rows).toEqual([{ name: 'sample' }]);
        await env.end();
        const down = await runFe(
          gh,
          { action: 'closed', number, labels: ['feature-env'], sha },
          raw,
          extra(),
        );
        expect(down.r.status, down.logger.text()).toBe('down');
        expect(
          (
            await pg.query('SELECT datname FROM pg_database WHERE datname = $1', [
              postgresName(key(), number),
            ])
          ).rows,
        ).toEqual([]);
        expect(await live()).toEqual([]);
      } finally {
        await pg.end();
        await server.stop();
      }
    });

    it('reap terminates an expired environment and an orphan of the set (no pull request); an open one stays', async () => {
      const [a, b, c] = [pr(), pr(), pr()];
      prefix = `ec${a.number}-`; // the three in one set
      // a with a TTL over by the time reap runs; b and c open for days.
      const upA = await runFe(gh, a.ev, { ...base(a.number), ttl: '1s' }, extra());
      const upB = await runFe(gh, b.ev, base(b.number), extra());
      const upC = await runFe(gh, c.ev, base(c.number), extra());
      expect([upA.r.status, upB.r.status, upC.r.status]).toEqual(['up', 'up', 'up']);
      // b's becomes an orphan: the set's tags, no pull request any more.
      await ec2.send(new DeleteTagsCommand({ Resources: [upB.r.instanceId!], Tags: [{ Key: PR_LABEL }] }));
      await new Promise((r) => setTimeout(r, 1100));
      const expiry = tag(
        (await live()).find((i) => i.InstanceId === upA.r.instanceId)!,
        A_EXPIRES,
      );
      const reap = await runFe(gh, { name: 'schedule' }, base(c.number), extra());
      expect(reap.r.status, reap.logger.text()).toBe('reaped');
      expect(reap.r.removed?.map((x) => [x.namespace, x.why]).sort()).toEqual(
        [
          [upA.r.instanceId, `expired at ${expiry}`],
          [upB.r.instanceId, 'an orphan: no pull request'],
        ].sort(),
      );
      expect((await live()).map((i) => i.InstanceId)).toEqual([upC.r.instanceId]);
    });

    it('warm-pool: reap launches a warm instance; two pull requests labelled at once: one takes it, the other gets its own; reap terminates the closed one and never an instance without the set’s tags', async () => {
      const a = pr();
      const b = pr();
      const raw = (number: number) => ({ ...base(number), 'warm-pool': '1' });
      // Someone else's instances in the same account: one untagged, one of another set.
      const foreignImage = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!
        .ImageId!;
      const foreign = (
        await ec2.send(
          new RunInstancesCommand({ ImageId: foreignImage, MinCount: 2, MaxCount: 2, SubnetId: subnet }),
        )
      ).Instances!.map((i) => i.InstanceId!);
      await ec2.send(
        new CreateTagsCommand({
          Resources: [foreign[1]!],
          Tags: [
            { Key: MANAGED, Value: 'true' },
            { Key: SET, Value: 'acme-other-0123456789' },
            { Key: PR_LABEL, Value: String(a.number) },
          ],
        }),
      );

      const reap = await runFe(gh, { name: 'schedule' }, raw(a.number), extra());
      expect(reap.r.status, reap.logger.text()).toBe('reaped');
      const [spare, ...noMore] = await live();
      expect(noMore).toEqual([]);
      expect(tag(spare!, STATE)).toBe('spare');
      expect(tag(spare!, PR_LABEL)).toBeUndefined();
      // The warm instance becomes ready (its kubeconfig published), unclaimed.
      for (let i = 0; i < 100 && !(await parameters()).some((p) => p === tag(spare!, T_KUBECONFIG)); i++)
        await new Promise((r) => setTimeout(r, 100));

      const [upA, upB] = await Promise.all([
        runFe(gh, a.ev, raw(a.number), extra()),
        runFe(gh, b.ev, raw(b.number), extra()),
      ]);
      expect(upA.r.status, upA.logger.text()).toBe('up');
      expect(upB.r.status, upB.logger.text()).toBe('up');
      // Exactly one of them took the warm instance.
      expect([upA.r.instanceId, upB.r.instanceId].filter((id) => id === spare!.InstanceId)).toHaveLength(1);
      expect(upA.r.instanceId).not.toBe(upB.r.instanceId);
      const after = await live();
      expect(after.filter((i) => tag(i, PR_LABEL) === String(a.number))).toHaveLength(1);
      expect(after.filter((i) => tag(i, PR_LABEL) === String(b.number))).toHaveLength(1);
      // The pool refilled to its size: one warm instance again (not two: the slot is exclusive).
      expect(after.filter((i) => tag(i, STATE) === 'spare')).toHaveLength(1);

      // a is closed: reap terminates its instance; b's, the warm one and the foreign ones stay.
      gh.issues.get(a.number)!.state = 'closed';
      const reap2 = await runFe(gh, { name: 'schedule' }, raw(a.number), extra());
      expect(reap2.r.removed?.map((x) => x.number)).toEqual([a.number]);
      const left = await live();
      expect(left.map((i) => tag(i, PR_LABEL) ?? tag(i, STATE)).sort()).toEqual(
        [String(b.number), 'spare'].sort(),
      );
      const foreignNow = (
        await ec2.send(new DescribeInstancesCommand({ InstanceIds: foreign }))
      ).Reservations!.flatMap((r) => r.Instances ?? []);
      expect(foreignNow.map((i) => i.State!.Name)).toEqual(['running', 'running']);
    });
  },
);

/**
 * A loopback proxy in front of moto that answers RunInstances as EC2 does when the zone has no
 * capacity (HTTP 500, the query API's error document); everything else goes to moto as it is.
 */
async function refusingProxy(
  target: string,
): Promise<{ server: Server; url: string; refuseRunInstances: boolean }> {
  const t = new URL(target);
  const state = { refuseRunInstances: false } as { server: Server; url: string; refuseRunInstances: boolean };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (state.refuseRunInstances && /Action=RunInstances/.test(body.toString())) {
        res.writeHead(500, { 'content-type': 'text/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>We currently do not have sufficient t3.xlarge capacity in the Availability Zone you requested (eu-west-1a). Our system will be working on provisioning additional capacity. You can currently get t3.xlarge capacity by not specifying an Availability Zone in your request or choosing eu-west-1b, eu-west-1c.</Message></Error></Errors><RequestID>5c1a9a6e-0000-4000-8000-000000000000</RequestID></Response>',
        );
        return;
      }
      const up = request(
        { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  state.server = server;
  state.url = `http://127.0.0.1:${port}`;
  return state;
}
