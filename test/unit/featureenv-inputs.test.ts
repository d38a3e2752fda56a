import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withDefaults } from '../../src/core/input-spec.js';
import {
  FEATURE_ENV_INPUTS,
  parseFeatureEnvInputs,
  type FeatureEnvRaw,
} from '../../src/featureenv/inputs.js';
import { decide, parsePrCommand } from '../../src/featureenv/event.js';
import {
  limitRangeFor,
  networkPolicyFor,
  quantityValue,
  resourceQuotaFor,
} from '../../src/featureenv/fences.js';
import type { GitHubContext } from '../../src/github/index.js';

const parse = (raw: Partial<FeatureEnvRaw>) =>
  parseFeatureEnvInputs(withDefaults(FEATURE_ENV_INPUTS, raw as Record<string, string>), process.cwd(), {
    sha: 'a'.repeat(40),
    pullRequest: 7,
  });

describe('feature-env inputs: bad input is one clear error, before anything', () => {
  it.each([
    [{ ttl: 'soon' }, /Input 'ttl'/],
    [{ 'warm-pool': '-1' }, /Input 'warm-pool': '-1' is not a count.*0 to 20/],
    [{ database: 'rds-snapshot' }, /Input 'db-source-instance': is empty, but 'database' is rds-snapshot/],
    [{ database: 'postgres-template', 'db-template': 'tpl' }, /Input 'db-url': is empty/],
    [{ database: 'mysql' }, /Input 'database'/],
    [
      { 'host-template': '{service}.{branch}.{domain}' },
      /Input 'host-template': has unknown placeholder\(s\) \{branch\}/,
    ],
    [
      { 'host-template': '{service}.preview.{domain}' },
      /Input 'host-template': '\{service\}.preview.\{domain\}' has neither \{number\} nor \{namespace\}, so every environment would get the same hosts. Expected a template that tells environments apart, e.g. '\{service\}.pr-\{number\}.\{domain\}'/,
    ],
    [{ 'host-template': 'web.example.com' }, /Input 'host-template': 'web.example.com' has neither/],
    [{ 'required-permission': 'owner' }, /Input 'required-permission'/],
    [{ links: 'Logs' }, /Input 'links': 'Logs' has no '='/],
    [{ links: 'Logs=ftp://x' }, /Input 'links': 'Logs' has no http\(s\) URL/],
    [{ 'namespace-prefix': 'FE_' }, /Input 'namespace-prefix'/],
    [{ command: 'up', manifests: '' }, /Input 'manifests': is empty, but 'command' is up/],
  ] as Array<[Partial<FeatureEnvRaw>, RegExp]>)('%o', (raw, message) => {
    expect(() => parse({ manifests: raw.command ? '' : 'k8s/', ...raw })).toThrow(message);
  });

  it('a host-template with {number} or {namespace} is taken', () => {
    for (const t of ['{service}-{number}.{domain}', '{service}.{namespace}.preview.example.com'])
      expect(parse({ manifests: 'k8s/', 'host-template': t }).hostTemplate).toBe(t);
  });

  it('the default tag of a built image is pr-<number>-<7 hex>', () => {
    const o = parse({
      manifests: 'test/',
      'build-context': 'test',
      image: 'ghcr.io/acme/web',
      dockerfile: '../package.json',
    });
    expect(o.deploy?.build?.tag).toBe('pr-7-aaaaaaa');
  });
});

describe('fences: network-policy, allow-from, resource-quota, max-environments', () => {
  it('defaults: isolate, admitting ingress-nginx; a quota of 40 pods, 4 CPUs, 8Gi requested; no limit on environments', () => {
    expect(parse({ manifests: 'k8s/' }).fences).toEqual({
      networkPolicy: 'isolate',
      allowNamespaces: ['ingress-nginx'],
      allowCidrs: [],
      quota: { pods: '40', 'requests.cpu': '4', 'requests.memory': '8Gi' },
      maxEnvironments: 0,
    });
  });

  it('allow-from takes namespaces and CIDRs (canonical), newlines or commas; none is the namespace itself only', () => {
    const f = parse({
      manifests: 'k8s/',
      'allow-from': 'ingress-nginx, monitoring\n10.0.0.0/16\nfd00:10::/64,10.1.2.3/32',
    }).fences;
    expect(f.allowNamespaces).toEqual(['ingress-nginx', 'monitoring']);
    expect(f.allowCidrs).toEqual(['10.0.0.0/16', 'fd00:10::/64', '10.1.2.3/32']);
    expect(parse({ manifests: 'k8s/', 'allow-from': 'none' }).fences).toMatchObject({
      allowNamespaces: [],
      allowCidrs: [],
    });
  });

  it.each([
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:DB8:0:0:1:0:0:0/80', '2001:db8:0:0:1::/80'],
    ['::ffff:10.0.0.0/104', '::ffff:a00:0/104'],
    ['::1/128', '::1/128'],
    ['fe80::/10', 'fe80::/10'],
  ])('allow-from CIDR %s is kept as %s', (given, kept) => {
    expect(parse({ manifests: 'k8s/', 'allow-from': given }).fences.allowCidrs).toEqual([kept]);
  });

  it('an IPv6 CIDR with host bits set: the error gives the network address', () => {
    expect(() => parse({ manifests: 'k8s/', 'allow-from': 'fd00:10::1/64' })).toThrow(
      /'fd00:10::1\/64' has host bits set. Expected the network address, 'fd00:10::\/64'/,
    );
  });

  it('resource-quota none: no quota; keys of every kind are accepted', () => {
    expect(parse({ manifests: 'k8s/', 'resource-quota': 'none' }).fences.quota).toEqual({});
    expect(
      parse({
        manifests: 'k8s/',
        'resource-quota':
          'pods=10\nservices=5,limits.cpu=2500m,limits.memory=4G,requests.storage=20Gi,count/deployments.apps=8,requests.nvidia.com/gpu=1,gp3.storageclass.storage.k8s.io/requests.storage=5Gi',
      }).fences.quota,
    ).toMatchObject({ 'limits.cpu': '2500m', 'count/deployments.apps': '8', 'requests.nvidia.com/gpu': '1' });
  });

  it.each([
    [
      { 'network-policy': 'deny' },
      /Input 'network-policy': 'deny' is not a known value. Expected 'isolate' or 'none'/,
    ],
    [{ 'allow-from': '0.0.0.0/0' }, /Input 'allow-from': '0.0.0.0\/0' admits every address/],
    [{ 'allow-from': 'ingress-nginx,::/0' }, /Input 'allow-from': '::\/0' admits every address/],
    [{ 'allow-from': '10.0.0.0/0' }, /Input 'allow-from': '10.0.0.0\/0' admits every address/],
    [{ 'allow-from': '*' }, /Input 'allow-from': '\*' would admit every namespace/],
    [{ 'allow-from': '10.0.0.0/33' }, /Input 'allow-from': '10.0.0.0\/33' is not a CIDR/],
    [
      { 'allow-from': '10.1.2.3/16' },
      /Input 'allow-from': '10.1.2.3\/16' has host bits set. Expected the network address, '10.1.0.0\/16'/,
    ],
    [
      { 'allow-from': '10.0.0.1' },
      /Input 'allow-from': '10.0.0.1' is an address without a prefix length.*'10.0.0.1\/32'/,
    ],
    [
      { 'allow-from': 'Ingress_Nginx' },
      /Input 'allow-from': 'Ingress_Nginx' is neither a namespace name nor a CIDR/,
    ],
    [
      { 'resource-quota': 'pods' },
      /Input 'resource-quota': 'pods' is not key=quantity.*e.g. 'pods=40,requests.cpu=4,requests.memory=8Gi'/,
    ],
    [
      { 'resource-quota': 'cpus=4' },
      /Input 'resource-quota': 'cpus' is not a ResourceQuota key. Expected keys such as pods.*e.g. 'pods=40/,
    ],
    [
      { 'resource-quota': 'requests.cpu=four' },
      /Input 'resource-quota': 'requests.cpu=four': 'four' is not a quantity for requests.cpu. Expected cores or millicores/,
    ],
    [
      { 'resource-quota': 'requests.memory=500m' },
      /'requests.memory=500m': '500m' is not a quantity.*thousandths of a byte/,
    ],
    [
      { 'resource-quota': 'requests.memory=8GB' },
      /'8GB' is not a quantity for requests.memory. Expected bytes with a suffix such as Mi or Gi/,
    ],
    [
      { 'resource-quota': 'pods=4.5' },
      /'pods=4.5': '4.5' is not a quantity for pods. Expected a whole number/,
    ],
    [{ 'resource-quota': 'pods=0' }, /Input 'resource-quota': 'pods=0' would refuse every pods/],
    [{ 'resource-quota': 'pods=4,pods=5' }, /Input 'resource-quota': 'pods' is given twice/],
    [
      { 'max-environments': '-1' },
      /Input 'max-environments': '-1' is not a count. Expected a whole number from 0 \(no limit\)/,
    ],
    [{ 'max-environments': 'ten' }, /Input 'max-environments'/],
  ] as Array<[Partial<FeatureEnvRaw>, RegExp]>)('%o', (raw, message) => {
    expect(() => parse({ manifests: 'k8s/', ...raw })).toThrow(message);
  });

  it('quantities in base units: counts, cores, bytes', () => {
    expect(quantityValue('cpu', '500m')).toBe(0.5);
    expect(quantityValue('cpu', '2')).toBe(2);
    expect(quantityValue('bytes', '8Gi')).toBe(8 * 2 ** 30);
    expect(quantityValue('bytes', '1.5G')).toBe(1.5e9);
    expect(quantityValue('bytes', '128')).toBe(128);
    expect(quantityValue('bytes', '1m')).toBeUndefined();
    expect(quantityValue('count', '1k')).toBeUndefined();
  });

  it('the NetworkPolicy admits its own namespace and what allow-from names, never every namespace or address', () => {
    const f = parse({ manifests: 'k8s/', 'allow-from': 'ingress-nginx,10.0.0.0/16' }).fences;
    const np = networkPolicyFor('fe-pr-1', f)!;
    expect(np.metadata).toMatchObject({ name: 'commit-to-cloud-fence', namespace: 'fe-pr-1' });
    expect(np.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
            { ipBlock: { cidr: '10.0.0.0/16' } },
          ],
        },
      ],
    });
    expect(networkPolicyFor('fe-pr-1', { ...f, networkPolicy: 'none' })).toBeUndefined();
  });

  it('a LimitRange only when the quota constrains CPU, memory or ephemeral storage; its defaults never exceed the quota', () => {
    const fences = (q: string) => parse({ manifests: 'k8s/', 'resource-quota': q }).fences;
    expect(limitRangeFor('ns', fences('pods=10,services=3'))).toBeUndefined();
    expect(resourceQuotaFor('ns', fences('none'))).toBeUndefined();
    expect(resourceQuotaFor('ns', fences('pods=10'))!.spec).toEqual({ hard: { pods: '10' } });
    expect(limitRangeFor('ns', fences('pods=40,requests.cpu=4,requests.memory=8Gi'))!.spec).toEqual({
      limits: [{ type: 'Container', defaultRequest: { cpu: '100m', memory: '128Mi' } }],
    });
    expect(limitRangeFor('ns', fences('limits.cpu=2,limits.memory=256Mi,requests.cpu=50m'))!.spec).toEqual({
      limits: [
        {
          type: 'Container',
          defaultRequest: { cpu: '50m', memory: '128Mi' },
          default: { cpu: '500m', memory: '256Mi' },
        },
      ],
    });
    expect(limitRangeFor('ns', fences('limits.memory=100Mi'))!.spec).toEqual({
      limits: [{ type: 'Container', defaultRequest: { memory: '100Mi' }, default: { memory: '100Mi' } }],
    });
  });
});

describe('command: auto decides from the event', () => {
  const opts = parse({ manifests: 'k8s/' });
  const gh = (o: Partial<GitHubContext>): GitHubContext =>
    ({
      apiUrl: '',
      serverUrl: '',
      graphqlUrl: '',
      payload: {},
      eventName: 'pull_request',
      ...o,
    }) as GitHubContext;
  const pr = (labels: string[]) => ({ number: 7, labels });
  it.each<[GitHubContext, string]>([
    [gh({ action: 'labeled', label: 'feature-env', pullRequest: pr(['feature-env']) }), 'up'],
    [gh({ action: 'labeled', label: 'bug', pullRequest: pr(['bug']) }), 'skipped'],
    [gh({ action: 'synchronize', pullRequest: pr(['feature-env']) }), 'up'],
    [gh({ action: 'synchronize', pullRequest: pr([]) }), 'skipped'],
    [gh({ action: 'reopened', pullRequest: pr(['feature-env']) }), 'up'],
    [gh({ action: 'unlabeled', label: 'feature-env', pullRequest: pr([]) }), 'down'],
    [gh({ action: 'unlabeled', label: 'bug', pullRequest: pr(['feature-env']) }), 'skipped'],
    [gh({ action: 'closed', pullRequest: pr(['feature-env']) }), 'down'],
    [gh({ eventName: 'schedule' }), 'reap'],
    [gh({ eventName: 'workflow_dispatch' }), 'reap'],
    [gh({ eventName: 'push' }), 'skipped'],
    ...(['created', 'edited'] as const).map(
      (action) =>
        [
          gh({
            eventName: 'issue_comment',
            action,
            pullRequest: pr([]),
            comment: { id: 1, body: 'LGTM\n  /feature-env extend 2d  ', author: 'alice' },
          }),
          action === 'created' ? 'pr-command' : 'skipped',
        ] as [GitHubContext, string],
    ),
    [
      gh({
        eventName: 'issue_comment',
        action: 'created',
        pullRequest: pr([]),
        comment: { id: 1, body: 'see /feature-env docs', author: 'alice' },
      }),
      'skipped',
    ],
    // A comment on an issue (no pull request): nothing.
    [
      gh({
        eventName: 'issue_comment',
        action: 'created',
        comment: { id: 1, body: '/feature-env up', author: 'a' },
      }),
      'skipped',
    ],
  ])('%#: %o → %s', (context, command) => {
    expect(decide({ ...opts, pullRequest: undefined } as never, context).command).toBe(command);
  });

  it('a comment command: its name, argument, comment and author', () => {
    expect(
      decide(
        { ...opts, pullRequest: undefined } as never,
        gh({
          eventName: 'issue_comment',
          action: 'created',
          pullRequest: pr([]),
          comment: { id: 42, body: 'LGTM\n/feature-env extend 2d\n/feature-env down', author: 'alice' },
        }),
      ),
    ).toMatchObject({
      command: 'pr-command',
      number: 7,
      prCommand: { name: 'extend', arg: '2d', commentId: 42, author: 'alice' },
    });
    expect(parsePrCommand('/feature-env')).toEqual({ name: '', arg: '' });
    expect(parsePrCommand('/feature-envy up')).toBeUndefined();
  });
});

describe('feature-env takes the build inputs of deploy-k8s as they are', () => {
  it('services, parallel and platforms reach the deploy; a bad platform is refused naming the input', () => {
    const raw = {
      command: 'up',
      manifests: 'test',
      services: 'test/*',
      image: 'registry.example/shop-{service}',
      parallel: '3',
      platforms: 'linux/amd64,linux/arm64',
    } as Partial<FeatureEnvRaw>;
    const opts = parse(raw);
    expect(opts.deploy?.services).toMatchObject({ parallel: 3, platforms: ['linux/amd64', 'linux/arm64'] });
    expect(() => parse({ ...raw, platforms: 'linux/sparc' })).toThrow(
      /Input 'platforms': 'linux\/sparc': 'sparc' is not a known architecture/,
    );
  });
});

describe('db-init and ready-probe', () => {
  const db = {
    manifests: 'test/fixtures',
    database: 'postgres-template',
    'db-url': 'postgres://u:p@db:5432/postgres',
    'db-template': 'shop',
  };
  it('an image and its command become a Job manifest read with the set; a .yaml file is read as it is', () => {
    const o = parse({ ...db, 'db-init': 'registry.example/shop-api:main python manage.py migrate' });
    expect(o.dbInit!.file).toMatch(/c2c-db-init-[^/]+\/db-init\.yaml$/);
    expect(o.deploy!.manifests).toContain(o.dbInit!.file);
    expect(JSON.parse(readFileSync(o.dbInit!.file, 'utf8'))).toMatchObject({
      kind: 'Job',
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'db-init',
                image: 'registry.example/shop-api:main',
                command: ['python', 'manage.py', 'migrate'],
              },
            ],
          },
        },
      },
    });
  });
  it.each([
    [
      { ...db, 'db-init': 'jobs/missing.yaml' },
      /Input 'db-init': 'jobs\/missing\.yaml' is not a file in the workspace/,
    ],
    [
      { ...db, 'db-init': 'just-a-word' },
      /Input 'db-init': 'just-a-word' is neither a \.yaml file nor an image followed by its command/,
    ],
    [
      { manifests: 'test/fixtures', 'db-init': 'img:1 run' },
      /Input 'db-init': is set, but 'database' is none/,
    ],
    [
      { manifests: 'test/fixtures', 'ready-probe': 'healthz' },
      /Input 'ready-probe': 'healthz' is not a path/,
    ],
  ])('%#: refused before anything happens', (raw, message) => {
    expect(() => parse(raw)).toThrow(message);
  });
});

describe('feature-env inputs: isolation ec2', () => {
  const ec2 = {
    isolation: 'ec2',
    'ami-name': 'minikube-service-*',
    'subnet-id': 'subnet-0abc1234def567890',
    'allow-cidrs': '10.0.0.0/8\n192.168.10.0/24, fd00::/8',
    'aws-region': 'eu-west-1',
  };
  it('reads the machine inputs, with their defaults', () => {
    expect(parse(ec2).machine).toEqual({
      amiName: 'minikube-service-*',
      amiOwner: 'self',
      instanceType: 't3.xlarge',
      subnetId: 'subnet-0abc1234def567890',
      allowCidrs: ['10.0.0.0/8', '192.168.10.0/24', 'fd00::/8'],
      readyTimeoutMs: 15 * 60_000,
      region: 'eu-west-1',
    });
    expect(parse({}).machine).toBeUndefined();
    // allow-public lets an environment be public, on purpose.
    expect(parse({ ...ec2, 'allow-cidrs': '0.0.0.0/0', 'allow-public': 'true' }).machine?.allowCidrs).toEqual(
      ['0.0.0.0/0'],
    );
  });
  it.each([
    [{ 'subnet-id': '' }, /Input 'subnet-id': is empty, but 'isolation' is ec2/],
    [{ 'allow-cidrs': '' }, /Input 'allow-cidrs': is empty, but 'isolation' is ec2/],
    [{ 'ami-name': '' }, /Input 'ami-name': is empty, but 'isolation' is ec2/],
    [
      { 'allow-cidrs': '10.0.0.0/8, 0.0.0.0/0' },
      /Input 'allow-cidrs': holds '0.0.0.0\/0': anyone on the internet.*allow-public: true/,
    ],
    [{ 'allow-cidrs': '::/0' }, /Input 'allow-cidrs': holds '::\/0'/],
    [{ 'allow-cidrs': '10.0.0.300/8' }, /Input 'allow-cidrs': '10.0.0.300\/8' is not a CIDR/],
    [{ 'instance-type': 'huge' }, /Input 'instance-type': 'huge' is not an instance type/],
    [{ 'subnet-id': 'my-subnet' }, /Input 'subnet-id': 'my-subnet' is not a subnet id/],
    [{ 'ami-owner': 'me' }, /Input 'ami-owner': 'me' is not an image owner/],
    [{ 'aws-region': '' }, /Input 'aws-region': is empty, and 'isolation: ec2' needs a region/],
    [{ 'tls-secret': 'cert-manager/wildcard' }, /Input 'tls-secret': is set, but 'isolation' is ec2/],
    [{ 'sleep-after': '2h' }, /Input 'sleep-after': is set, but 'isolation' is ec2/],
    [{ isolation: 'namespace' }, /Input 'ami-name': is set, but 'isolation' is namespace/],
    [{ isolation: 'vm' }, /Input 'isolation'/],
  ])('%#: refused before anything is launched', (raw, message) => {
    expect(() => parse({ ...ec2, ...raw })).toThrow(message);
  });
});
