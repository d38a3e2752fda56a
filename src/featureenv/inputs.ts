import {
  InputError,
  asBool,
  asCount,
  asDuration,
  asLines,
  asTrimmed,
  oneOf,
  parseInputs,
  parseList,
  pickInputs,
  pickValues,
  withDefaults,
  type InputSpec,
  type RawInputs,
} from '../core/index.js';
import {
  DEPLOY_INPUTS,
  DEPLOY_OUTPUTS,
  parseCluster,
  parseDeployInputs,
  type DeployOptions,
} from '../deploy/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFences, type FenceOptions } from './fences.js';
import type { AccessOptions } from './private.js';

/** The build inputs of deploy-k8s that feature-env takes as they are (passed on to its parser). */
const BUILD_INPUTS = [
  'build-context',
  'services',
  'parallel',
  'platforms',
  'dockerfile',
  'image',
  'push-to',
] as const;
const BUILD_DETAIL_INPUTS = [
  'base-image',
  'build-args',
  'secrets',
  'secret-files',
  'builder',
  'cache',
  'registry-username',
  'registry-password',
  'pin-digests',
  'sbom',
  'provenance',
  'sign-key',
  'sign-key-password',
  'verify-key',
  'verify-identity',
  'verify-issuer',
] as const;
/** The connection inputs of deploy-k8s, as they are. */
const CLUSTER_INPUTS = ['token', 'kubeconfig', 'cluster-name', 'aws-region'] as const;

export type FeatureCommand = 'auto' | 'up' | 'down' | 'reap';
export type DatabaseMode = 'none' | 'postgres-template' | 'rds-snapshot';
export type Permission = 'none' | 'read' | 'triage' | 'write' | 'maintain' | 'admin';
/** Lowest first: `none` asks nothing of whoever added the label. */
export const PERMISSIONS: readonly Permission[] = ['none', 'read', 'triage', 'write', 'maintain', 'admin'];

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOST_PLACEHOLDERS = ['service', 'number', 'namespace', 'domain'];

// The parsers of feature-env's own inputs (InputDef.parse), each beside its input below.

/** `namespace/name` of a Secret (DNS labels); empty: none. */
function tlsSecretRef(
  value: string,
  name: string,
  what = "a TLS Secret, e.g. 'cert-manager/preview-wildcard'",
): { namespace: string; name: string } | undefined {
  const v = value.trim();
  if (!v) return undefined;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(v);
  if (!m) throw new InputError(name, `'${v}' is not namespace/name`, `the namespace and name of ${what}`);
  return { namespace: m[1]!, name: m[3]! };
}

function labelName(value: string, name: string): string {
  const label = value.trim();
  if (!label) throw new InputError(name, 'is empty', "a label name such as 'feature-env'");
  return label;
}

/** Empty (the event's), or a pull request number. */
function pullRequestNumber(value: string, name: string): number | undefined {
  const v = value.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InputError(name, `'${value}' is not a pull request number`, 'a positive integer');
  return n;
}

function namespacePrefix(value: string, name: string): string {
  const prefix = value.trim();
  if (!/^[a-z0-9][-a-z0-9]{0,19}$/.test(prefix))
    throw new InputError(
      name,
      `'${prefix}' cannot start a namespace name`,
      'lowercase letters, digits and -, starting with a letter or digit, at most 20 characters',
    );
  return prefix;
}

function dnsDomain(value: string, name: string): string {
  const domain = value.trim().replace(/\.$/, '');
  if (domain && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(domain))
    throw new InputError(name, `'${domain}' is not a DNS domain`, "a domain such as 'preview.example.com'");
  return domain;
}

function hostTemplate(value: string, name: string): string {
  const template = value.trim();
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1]!)
    .filter((p) => !HOST_PLACEHOLDERS.includes(p));
  if (unknown.length)
    throw new InputError(
      name,
      `has unknown placeholder(s) ${unknown.map((u) => `{${u}}`).join(', ')}`,
      `placeholders among ${HOST_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
    );
  if (!template.includes('{number}') && !template.includes('{namespace}'))
    throw new InputError(
      name,
      `'${template}' has neither {number} nor {namespace}, so every environment would get the same hosts`,
      "a template that tells environments apart, e.g. '{service}-pr-{number}.{domain}' (the default) or '{service}-{namespace}.{domain}'",
    );
  return template;
}

/** `key=value` lines, trimmed on both sides of the '='. */
function keyValueLines(expected: string): (value: string, name: string) => Array<[string, string]> {
  return (value, name) => {
    const out: Array<[string, string]> = [];
    for (const line of parseList(value, { commas: false })) {
      const eq = line.indexOf('=');
      if (eq <= 0) throw new InputError(name, `'${line}' has no '='`, expected);
      out.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
    return out;
  };
}

function linkLines(value: string, name: string): Array<[string, string]> {
  const links = keyValueLines(
    "'Name=URL template' lines, e.g. 'Logs=https://logs.example.com/?ns={namespace}'",
  )(value, name);
  for (const [label, url] of links)
    if (!/^https?:\/\//.test(url))
      throw new InputError(name, `'${label}' has no http(s) URL: '${url}'`, "'Name=https://…' lines");
  return links;
}

/** Empty, or a host or host:port. */
function hostPort(value: string, name: string): string {
  const host = value.trim();
  if (host && !/^[a-zA-Z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host))
    throw new InputError(
      name,
      `'${host}' is not a host or host:port`,
      "a host such as 'db.internal' or 'db.internal:5432'",
    );
  return host;
}

function secretName(value: string, name: string): string {
  const secret = value.trim();
  if (!NAME.test(secret) || secret.length > 253)
    throw new InputError(name, `'${secret}' is not a Secret name`, 'lowercase letters, digits and -');
  return secret;
}

/** The inputs of action-feature-env and `c2c feature-env`: names, defaults and meaning. */
export const FEATURE_ENV_INPUTS = {
  command: {
    default: 'auto',
    description:
      '`auto` decides from the event: a pull request labeled with `label` → up; synchronize or reopened while the label is on → up (update); unlabeled (that label) or closed → down; `schedule` or `workflow_dispatch` → reap. Or `up`, `down`, `reap` explicitly.',
    parse: oneOf(['auto', 'up', 'down', 'reap']),
  },
  label: { default: 'feature-env', description: 'The label that asks for an environment.', parse: labelName },
  'pull-request': {
    default: '',
    description:
      "The pull request number, for `up` and `down` outside a pull_request event (a workflow_dispatch, the CLI). Default: the event's.",
    parse: pullRequestNumber,
  },
  manifests: {
    default: '',
    description:
      'The full set of services (required for up), as in deploy-k8s: files, directories or globs of YAML; a kustomization directory is rendered.',
    parse: asLines,
  },
  images: {
    default: '',
    description:
      'The images under test, substituted as in deploy-k8s (matched by repository); every other service runs the image its manifest names.',
  },
  ...pickInputs(DEPLOY_INPUTS, ...BUILD_INPUTS),
  tag: {
    default: '',
    description: 'Tag of the built image. Default: `pr-<number>-<7 hex of the head commit>`.',
    parse: asTrimmed,
  },
  ...pickInputs(DEPLOY_INPUTS, ...BUILD_DETAIL_INPUTS),
  'namespace-prefix': {
    default: 'fe-',
    description:
      'Prefix of the namespaces this action makes (`fe-3fa2c1-pr-42`, `fe-3fa2c1-spare-7c2e9a`: the six hex digits name the set of environments, repository + `namespace-prefix` + `label`).',
    parse: namespacePrefix,
  },
  domain: {
    default: '',
    description: 'Base domain of the environments; each Ingress host is rewritten with `host-template`.',
    parse: dnsDomain,
  },
  'host-template': {
    default: '{service}-pr-{number}.{domain}',
    description:
      'Host of each Ingress rule: `{service}` (the Ingress name, or the backend Service of the rule), `{number}`, `{namespace}`, `{domain}`. It must hold `{number}` or `{namespace}`, so that each environment gets hosts of its own.',
    parse: hostTemplate,
  },
  'tls-secret': {
    default: '',
    description:
      '`namespace/name` of a `kubernetes.io/tls` Secret holding a wildcard certificate for `*.{domain}` (e.g. one cert-manager keeps): copied into each environment (and spare) under the same name, and every Ingress gets `tls` with its hosts and that Secret, so the URLs are `https://`. The identity needs `get` on that Secret in its namespace (a Role of your own there).',
    parse: tlsSecretRef,
  },
  access: {
    default: 'public',
    description:
      "Who may open the environment's URLs: `public` (whoever reaches the Ingress), `ingress-nginx-oauth` (ingress-nginx asks the team's oauth2-proxy at `access-url`: sign in, e.g. as a collaborator of the repository), `alb-oidc` (the AWS Load Balancer Controller's OIDC authentication, `access-oidc`). Private modes give each environment a bypass token for automated tests (its Secret `feature-env-access`).",
    parse: oneOf(['public', 'ingress-nginx-oauth', 'alb-oidc'] as const),
  },
  'access-url': {
    default: '',
    description:
      "`ingress-nginx-oauth`: the base URL of the team's oauth2-proxy, e.g. `https://auth.preview.example.com` (its /oauth2/auth and /oauth2/start).",
    parse: asTrimmed,
  },
  'access-oidc': {
    default: '',
    description:
      '`alb-oidc`: newline-separated `issuer=`, `authorization-endpoint=`, `token-endpoint=`, `user-info-endpoint=` (https URLs of the identity provider) and `secret=namespace/name` (a Secret with `clientID` and `clientSecret`, copied into each environment).',
    parse: keyValueLines("'key=value' lines"),
  },
  'ingress-annotations': {
    default: '',
    description:
      'Newline-separated `key=value` set on every Ingress (an internal load-balancer scheme, an allow-list of source ranges: internal-only access).',
    parse: keyValueLines("'key=value' lines"),
  },
  links: {
    default: '',
    description:
      'Newline-separated `Name=URL template` shown in the PR comment (the dashboard, the logs); placeholders `{namespace}`, `{number}`, `{sha}`.',
    parse: linkLines,
  },
  ttl: {
    default: '72h',
    description: 'Expiry of an environment, pushed forward by every update; reap removes expired ones.',
    parse: asDuration,
  },
  'sleep-after': {
    default: '',
    description:
      'Put an environment to sleep after this long without an update, a command or a wake (e.g. `2h`): the scheduled run scales its Deployments and StatefulSets to 0 and remembers their replicas; a push, `/feature-env wake` or adding the label again brings back exactly those and waits until ready. Spares and kept environments never sleep. Empty: never.',
    parse: (value: string, name: string) => (value.trim() === '' ? 0 : asDuration(value, name)),
  },
  'warm-pool': {
    default: '0',
    description:
      'Ready spare environments kept: the baseline stack deployed and ready, no pull request attached. Claiming one rolls only the changed services. Refilled after a claim and on reap.',
    parse: asCount(20),
  },
  // The machine provider (isolation: ec2; src/featureenv/machine/).
  isolation: {
    default: 'namespace',
    description:
      "Where each environment runs: `namespace` (a namespace of its own on the shared cluster the connection inputs name: ready in seconds), or `ec2` (an EC2 instance of its own running Minikube, started from the newest image `ami-name` matches: kernel-level isolation, cluster-scoped objects of its own; ready in minutes). See action-feature-env's README, 'Choosing a provider'.",
    parse: oneOf(['namespace', 'ec2']),
  },
  'ami-name': {
    default: '',
    description:
      '`ec2`: the name pattern of the image (`*` and `?` wildcards), e.g. `minikube-service-*` (infra/image-builder makes them): the newest available image matching it, by creation date, is launched.',
    parse: asTrimmed,
  },
  'ami-owner': {
    default: 'self',
    description: '`ec2`: who owns the image: `self`, or an AWS account id.',
    parse: asTrimmed,
  },
  'instance-type': {
    default: 't3.xlarge',
    description: '`ec2`: the instance type (checked with EC2 before anything is launched).',
    parse: asTrimmed,
  },
  'subnet-id': {
    default: '',
    description:
      "`ec2`: the subnet the instances start in; one the runner's network reaches (the runner talks to each instance's API server).",
    parse: asTrimmed,
  },
  'allow-cidrs': {
    default: '',
    description:
      "`ec2`: the networks that may reach an environment (the internal network, the VPN, the runners), CIDRs, newlines or commas: each environment's own security group admits only them, to its ports (80 and 443 for the Ingresses, 8443 for the API server, 30090 for the Kubernetes dashboard, 9999 for the log viewer). `0.0.0.0/0` and `::/0` are refused unless `allow-public: true`.",
    parse: (value: string) => parseList(value),
  },
  'allow-public': {
    default: 'false',
    description:
      "`ec2`: `true` lets `allow-cidrs` hold `0.0.0.0/0` or `::/0` (anyone on the internet reaches the environment and its API server's port).",
    parse: asBool,
  },
  'instance-profile': {
    default: '',
    description:
      '`ec2`: the IAM instance profile (name) of the instances: it lets the user data pull from ECR and publish the kubeconfig in SSM. Empty: none.',
    parse: asTrimmed,
  },
  'vm-ready-timeout': {
    default: '15m',
    description:
      '`ec2`: how long a new instance may take to publish its kubeconfig and answer on its API server; after it, it is terminated (with its security group and parameter) and the PR comment says so.',
    parse: asDuration,
  },
  // The fences of each environment's namespace (src/featureenv/fences.ts).
  'network-policy': {
    default: 'isolate',
    description:
      "`isolate`: a NetworkPolicy in each environment's namespace (spares too) admits ingress to its pods only from the namespace itself and from what `allow-from` names. `none`: no NetworkPolicy (one this action made before is removed).",
  },
  'allow-from': {
    default: 'ingress-nginx',
    description:
      "With `network-policy: isolate`, what else may reach the pods: namespaces by name (the ingress controller's) and CIDRs (the VPC's, for load-balancer IP targets), newlines or commas; `none` for the namespace itself only. `0.0.0.0/0` and `::/0` are refused.",
  },
  'resource-quota': {
    default: 'pods=40,requests.cpu=4,requests.memory=8Gi',
    description:
      "Hard limits of a ResourceQuota in each environment's namespace, `key=quantity` (newlines or commas): `pods`, `services`, `requests.cpu`, `requests.memory`, `limits.cpu`, `limits.memory`, `requests.storage`, `count/<resource>`, …. When CPU or memory are limited, a LimitRange gives containers that ask for nothing default requests (100m CPU, 128Mi), and default limits (500m, 512Mi) when `limits.*` are. `none`: no quota.",
  },
  'max-environments': {
    default: '0',
    description:
      'Active environments of the repository (and `namespace-prefix`) at most: one more new environment is refused before anything is made, naming the oldest ones; an update of an existing one is always allowed. `0`: no limit.',
  },
  database: {
    default: 'none',
    description:
      '`none`, `postgres-template` (a database cloned from a template on a shared server) or `rds-snapshot`.',
    parse: oneOf(['none', 'postgres-template', 'rds-snapshot']),
  },
  'db-url': {
    default: '',
    secret: true,
    description: '`postgres-template`: the admin connection URL of the shared PostgreSQL server.',
    parse: asTrimmed,
  },
  'db-public-host': {
    default: '',
    description:
      "`postgres-template`: the host (`host` or `host:port`) the environment's services use to reach the server, when it is not the host of `db-url` (the runner and the pods often reach it by different names). Default: `db-url`'s.",
    parse: hostPort,
  },
  'db-template': {
    default: '',
    description:
      '`postgres-template`: the database cloned for each environment (e.g. a nightly copy of the integration data).',
    parse: asTrimmed,
  },
  'db-source-instance': {
    default: '',
    description: '`rds-snapshot`: the RDS instance whose newest snapshot is restored.',
    parse: asTrimmed,
  },
  'db-instance-class': {
    default: 'db.t4g.micro',
    description: '`rds-snapshot`: the class of restored instances.',
    parse: asTrimmed,
  },
  'db-pool': {
    default: '1',
    description:
      '`rds-snapshot`: restored, available, unclaimed instances kept ready (the n+1 of a restore pool).',
    parse: asCount(20),
  },
  'db-init': {
    default: '',
    description:
      "Sets up the environment's database: a Job manifest (a `.yaml` file in the workspace), or an image and its command (`registry/shop-api:main python manage.py migrate`: no shell). It runs before the services roll, with the database Secret's keys in its environment and `FIRST_RUN=true` once after the database was created (seeding), `FIRST_RUN=false` on every later update (migrations); its failure fails the up with its logs. Needs `database`.",
    parse: asTrimmed,
  },
  'db-secret-name': {
    default: 'database',
    description:
      "The Secret created in the environment's namespace with `host`, `port`, `database`, `user`, `password` and `url`.",
    parse: secretName,
  },
  'rotate-db-password': {
    default: 'false',
    description:
      "`true`: a new password for the environment's database on this up, and every workload that reads the database Secret rolls. Otherwise the password made with the database is kept (running services keep working).",
    parse: asBool,
  },
  'allow-forks': {
    default: 'false',
    description:
      "Pull requests from forks are refused unless `true` (read the security notes on `pull_request_target` first). With `true`, a fork's code is deployed only when the label is added: a push to it removes the label until someone with `required-permission` adds it again.",
    parse: asBool,
  },
  'required-permission': {
    default: 'write',
    description:
      'Whoever added the label must have at least this permission on the repository: `read`, `triage`, `write`, `maintain` or `admin`; or `none` (anyone). Without a token these checks cannot be made and up fails, unless `allow-forks: true` and `required-permission: none` say that none are wanted.',
    parse: oneOf(PERMISSIONS),
  },
  timeout: {
    default: '10m',
    description:
      'How long the rollouts of an environment may take (and then, with `ready-probe`, its first URL until it answers).',
    parse: asDuration,
  },
  'ready-probe': {
    default: '',
    description:
      "A path (e.g. `/healthz`): after the rollout, the environment's first URL must answer 2xx there within `timeout`, asked through the address the ingress controller gave its Ingress (no DNS needed); until then it is not ready. Empty: ready when the rollouts are.",
    parse: (value: string, name: string) => {
      const v = value.trim();
      if (v && !/^\/[^\s]*$/.test(v))
        throw new InputError(name, `'${v}' is not a path`, "a path starting with '/', e.g. '/healthz'");
      return v;
    },
  },
  ...pickInputs(DEPLOY_INPUTS, ...CLUSTER_INPUTS),
} as const satisfies InputSpec;

export type FeatureEnvRaw = RawInputs<typeof FEATURE_ENV_INPUTS>;

export const FEATURE_ENV_OUTPUTS = {
  namespace: "The environment's namespace.",
  url: "The URL of the environment's first service (its first Ingress host), when it has one.",
  status:
    "`up`, `updated`, `down`, `reaped` or `skipped`; `checked` for a `/feature-env up` comment whose workspace does not hold the pull request's head yet: it was checked and labelled, and the workflow checks out `head-sha` and runs `command: up` (see workflows-examples/feature-env-commands.yml).",
  'head-sha':
    'The head commit of the pull request the run is about (what `/feature-env up` deploys; check it out when the status is `checked`).',
  'instance-id': "`isolation: ec2`: the environment's EC2 instance.",
  'deployment-id': 'The id of the GitHub Deployment (environment `feature-env/pr-<number>`).',
  'expires-at': 'When the environment expires (ISO 8601), unless updated before.',
  'ready-seconds':
    "Seconds from the event that asked for the environment (the label, the push, the comment: its time in the payload) until it was ready (with `ready-probe`: until its URL answered); from the step's start when the payload has no time.",
  images: DEPLOY_OUTPUTS.images,
  built: DEPLOY_OUTPUTS.built,
  reused: DEPLOY_OUTPUTS.reused,
  'image-refs': DEPLOY_OUTPUTS['image-refs'],
} as const;

/** `isolation: ec2`: how each environment's instance is started and reached. */
export interface MachineOptions {
  amiName: string;
  amiOwner: string;
  instanceType: string;
  subnetId: string;
  allowCidrs: string[];
  instanceProfile?: string;
  readyTimeoutMs: number;
  region: string;
}

export interface FeatureEnvOptions {
  command: FeatureCommand;
  label: string;
  pullRequest?: number;
  /** The deploy of the environment's services (manifests, images, the build), without a namespace yet. */
  deploy?: DeployOptions;
  namespacePrefix: string;
  domain: string;
  hostTemplate: string;
  ingressAnnotations: Array<[string, string]>;
  /** `tls-secret`: the wildcard certificate's Secret, copied into each environment. */
  tlsSecret?: { namespace: string; name: string };
  /** `access`, `access-url`, `access-oidc`. */
  access: AccessOptions;
  links: Array<[string, string]>;
  ttlMs: number;
  /** `sleep-after` (0: never). */
  sleepAfterMs: number;
  warmPool: number;
  /** `isolation: ec2`: the machine of each environment; absent for `namespace`. */
  machine?: MachineOptions;
  /** network-policy, allow-from, resource-quota, max-environments. */
  fences: FenceOptions;
  database:
    | { mode: 'none' }
    | { mode: 'postgres-template'; url: string; template: string; publicHost?: string }
    | { mode: 'rds-snapshot'; sourceInstance: string; instanceClass: string; pool: number; region?: string };
  dbSecretName: string;
  /** `db-init`: the manifest file of its Job (the user's, or one made for an image and command), loaded with the set. */
  dbInit?: { file: string };
  rotateDbPassword: boolean;
  allowForks: boolean;
  requiredPermission: Permission;
  timeoutMs: number;
  /** `ready-probe`: the path the first URL must answer 2xx at ('' : none). */
  readyProbe: string;
  token?: string;
  cluster: DeployOptions['cluster'];
}

/**
 * Validates every input before anything happens. `env.sha` is the head commit of the pull request
 * (for the default tag), `env.pullRequest` the event's pull request number.
 */
export function parseFeatureEnvInputs(
  raw: FeatureEnvRaw,
  workspace: string,
  env: { sha?: string; pullRequest?: number; awsRegion?: string } = {},
): FeatureEnvOptions {
  const v = parseInputs(FEATURE_ENV_INPUTS, raw);
  const { command, label, database: dbMode } = v;
  const pullRequest = v['pull-request'] ?? env.pullRequest;
  const fences = parseFences(raw);
  let database: FeatureEnvOptions['database'] = { mode: 'none' };
  if (dbMode === 'postgres-template') {
    const url = v['db-url'];
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new InputError(
        'db-url',
        url ? 'is not a postgres:// URL' : 'is empty',
        "the admin URL of the shared server, 'postgres://user:password@host:5432/postgres'",
      );
    const template = v['db-template'];
    if (!/^[a-z_][a-z0-9_$-]{0,62}$/i.test(template))
      throw new InputError(
        'db-template',
        template ? `'${template}' is not a database name` : 'is empty',
        'the name of the database to clone',
      );
    const publicHost = v['db-public-host'];
    database = { mode: 'postgres-template', url, template, ...(publicHost ? { publicHost } : {}) };
  } else if (dbMode === 'rds-snapshot') {
    const sourceInstance = v['db-source-instance'];
    if (!sourceInstance)
      throw new InputError(
        'db-source-instance',
        "is empty, but 'database' is rds-snapshot",
        'the RDS instance whose newest snapshot is restored',
      );
    if (!/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(sourceInstance))
      throw new InputError(
        'db-source-instance',
        `'${sourceInstance}' is not an RDS instance identifier`,
        'letters, digits and hyphens, starting with a letter',
      );
    const instanceClass = v['db-instance-class'];
    if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass))
      throw new InputError(
        'db-instance-class',
        `'${instanceClass}' is not an instance class`,
        "a class such as 'db.t4g.micro'",
      );
    const region = raw['aws-region'].trim() || env.awsRegion;
    database = {
      mode: 'rds-snapshot',
      sourceInstance,
      instanceClass,
      pool: v['db-pool'],
      ...(region ? { region } : {}),
    };
  }

  // The services: parsed by deploy-k8s's own parser (manifests, images, the build), namespace later.
  let deploy: DeployOptions | undefined;
  let dbInit: FeatureEnvOptions['dbInit'];
  if (v['db-init'] && !raw.manifests.trim())
    throw new InputError(
      'db-init',
      'is set, but manifests is empty',
      "the environment's manifests too, e.g. 'k8s/'",
    );
  const { manifests } = v;
  if (manifests.length || raw['build-context'].trim() || raw.services.trim() || raw.images.trim()) {
    if (!manifests.length)
      throw new InputError(
        'manifests',
        "is empty, but the services' images or a build are given",
        "the manifests of the full set of services, e.g. 'k8s/'",
      );
    const tag = v.tag || (pullRequest && env.sha ? `pr-${pullRequest}-${env.sha.slice(0, 7)}` : '');
    dbInit = dbInitFile(v['db-init'], workspace, database.mode);
    deploy = parseDeployInputs(
      withDefaults(DEPLOY_INPUTS, {
        // The db-init Job is read with the set: validated, its image substituted and pinned as theirs.
        manifests: dbInit ? `${raw.manifests}\n${dbInit.file}` : raw.manifests,
        images: raw.images,
        tag,
        timeout: raw.timeout,
        ...pickValues(raw, [...BUILD_INPUTS, ...BUILD_DETAIL_INPUTS, ...CLUSTER_INPUTS]),
      }),
      workspace,
      { ...(env.sha ? { sha: env.sha } : {}), ...(env.awsRegion ? { awsRegion: env.awsRegion } : {}) },
    );
  }
  if (command === 'up' && !deploy)
    throw new InputError(
      'manifests',
      "is empty, but 'command' is up",
      "the manifests of the full set of services, e.g. 'k8s/'",
    );
  const cluster = deploy?.cluster ?? parseCluster(raw, env);
  const machine = parseMachine(v, raw, env.awsRegion);
  const { token } = v;
  return {
    command,
    label,
    ...(pullRequest ? { pullRequest } : {}),
    ...(deploy ? { deploy } : {}),
    namespacePrefix: v['namespace-prefix'],
    domain: v.domain,
    hostTemplate: v['host-template'],
    ingressAnnotations: v['ingress-annotations'],
    ...(v['tls-secret'] ? { tlsSecret: v['tls-secret'] } : {}),
    access: parseAccess(v.access, v['access-url'], v['access-oidc']),
    links: v.links,
    ttlMs: v.ttl,
    sleepAfterMs: v['sleep-after'],
    warmPool: v['warm-pool'],
    ...(machine ? { machine } : {}),
    fences,
    database,
    dbSecretName: v['db-secret-name'],
    ...(dbInit ? { dbInit } : {}),
    rotateDbPassword: v['rotate-db-password'],
    allowForks: v['allow-forks'],
    requiredPermission: v['required-permission'],
    timeoutMs: v.timeout,
    readyProbe: v['ready-probe'],
    ...(token ? { token } : {}),
    cluster,
  };
}

/**
 * `db-init`'s Job as a manifest file to read with the set: the user's (a .yaml/.yml file in the
 * workspace), or one written for an image and its command (exec form, no shell) into a directory
 * of its own under the temporary directory.
 */
function dbInitFile(
  value: string,
  workspace: string,
  database: FeatureEnvOptions['database']['mode'],
): FeatureEnvOptions['dbInit'] {
  if (!value) return undefined;
  if (database === 'none')
    throw new InputError(
      'db-init',
      "is set, but 'database' is none: there is no database to set up",
      "'database: postgres-template' or 'rds-snapshot', or no db-init",
    );
  if (/\.ya?ml$/i.test(value)) {
    const file = path.resolve(workspace, value);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile())
      throw new InputError(
        'db-init',
        `'${value}' is not a file in the workspace`,
        'the path of a Job manifest, e.g. k8s/jobs/db-init.yaml',
      );
    return { file };
  }
  const [image, ...command] = value.split(/\s+/);
  if (!image || !command.length || !/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(image))
    throw new InputError(
      'db-init',
      `'${value}' is neither a .yaml file nor an image followed by its command`,
      "a Job manifest ('k8s/jobs/db-init.yaml'), or an image and a command ('registry.example.com/shop-api:main python manage.py migrate')",
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'c2c-db-init-'));
  const file = path.join(dir, 'db-init.yaml');
  fs.writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'db-init' },
      spec: {
        backoffLimit: 0,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'db-init', image, command }] } },
      },
    }),
  );
  return { file };
}

/** `access` and what its mode needs: one error naming the input that is missing or wrong. */
function parseAccess(mode: AccessOptions['mode'], url: string, oidc: Array<[string, string]>): AccessOptions {
  const https = (input: string, v: string | undefined, what: string): string => {
    if (!v || !/^https:\/\/[^\s/]+/.test(v))
      throw new InputError(
        input,
        v ? `'${v}' is not an https:// URL` : input === 'access-url' ? 'is empty' : `has no ${what}`,
        `the https:// URL of ${what}`,
      );
    return v;
  };
  if (mode === 'ingress-nginx-oauth')
    return { mode, url: https('access-url', url || undefined, "the team's oauth2-proxy") };
  if (mode === 'alb-oidc') {
    const kv = new Map(oidc);
    const known = ['issuer', 'authorization-endpoint', 'token-endpoint', 'user-info-endpoint', 'secret'];
    const unknown = [...kv.keys()].filter((k) => !known.includes(k));
    if (unknown.length)
      throw new InputError(
        'access-oidc',
        `has unknown keys: ${unknown.join(', ')}`,
        `the keys ${known.join(', ')}`,
      );
    const secret = tlsSecretRef(
      kv.get('secret') ?? '',
      'access-oidc',
      "the OIDC client's Secret, e.g. 'secret=auth/preview-oidc'",
    );
    if (!secret)
      throw new InputError(
        'access-oidc',
        'has no secret=',
        "the Secret with the OIDC client's clientID and clientSecret, e.g. 'secret=auth/preview-oidc'",
      );
    return {
      mode,
      oidc: {
        issuer: https('access-oidc', kv.get('issuer'), 'issuer= (the identity provider)'),
        authorizationEndpoint: https(
          'access-oidc',
          kv.get('authorization-endpoint'),
          'authorization-endpoint=',
        ),
        tokenEndpoint: https('access-oidc', kv.get('token-endpoint'), 'token-endpoint='),
        userInfoEndpoint: https('access-oidc', kv.get('user-info-endpoint'), 'user-info-endpoint='),
        secret,
      },
    };
  }
  if (url || oidc.length)
    throw new InputError(
      url ? 'access-url' : 'access-oidc',
      "is set, but 'access' is public",
      "'access: ingress-nginx-oauth' (with access-url) or 'access: alb-oidc' (with access-oidc), or leave it empty",
    );
  return { mode };
}

const MACHINE_INPUTS = ['ami-name', 'subnet-id', 'allow-cidrs', 'instance-profile'] as const;
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR6 = /^[0-9a-fA-F:]+\/(\d{1,3})$/;

/**
 * `isolation` and the machine inputs: with `ec2`, what it needs (an image, a subnet, the networks
 * admitted, a region), each checked here; with `namespace`, none of them may be set. What only EC2
 * can tell (the image exists, the instance type is known) is checked before the first launch.
 */
function parseMachine(
  v: ReturnType<typeof parseInputs<typeof FEATURE_ENV_INPUTS>>,
  raw: FeatureEnvRaw,
  awsRegion: string | undefined,
): MachineOptions | undefined {
  if (v.isolation === 'namespace') {
    const set = MACHINE_INPUTS.find((i) => raw[i].trim() !== '');
    if (set)
      throw new InputError(
        set,
        "is set, but 'isolation' is namespace",
        "'isolation: ec2', or leave it empty",
      );
    return undefined;
  }
  const need = (input: (typeof MACHINE_INPUTS)[number], expected: string): string => {
    const value = raw[input].trim();
    if (!value) throw new InputError(input, "is empty, but 'isolation' is ec2", expected);
    return value;
  };
  const amiName = need('ami-name', "the name pattern of the environments' image, e.g. 'minikube-service-*'");
  if (!/^[\w()[\]./@'*?-]{1,128}$/.test(amiName))
    throw new InputError(
      'ami-name',
      `'${amiName}' is not an image name pattern`,
      "letters, digits, ( ) [ ] . / - ' @ _ and the wildcards * and ?",
    );
  const amiOwner = v['ami-owner'] || 'self';
  if (!/^(self|amazon|aws-marketplace|\d{12})$/.test(amiOwner))
    throw new InputError(
      'ami-owner',
      `'${amiOwner}' is not an image owner`,
      "'self', 'amazon' or a 12-digit AWS account id",
    );
  const subnetId = need('subnet-id', "the subnet the instances start in, e.g. 'subnet-0abc1234def567890'");
  if (!/^subnet-[0-9a-f]{8,17}$/.test(subnetId))
    throw new InputError('subnet-id', `'${subnetId}' is not a subnet id`, "'subnet-' and 8 or 17 hex digits");
  need(
    'allow-cidrs',
    "the internal networks or VPN ranges that may reach the environments, e.g. '10.0.0.0/8'",
  );
  const allowCidrs = v['allow-cidrs'];
  for (const cidr of allowCidrs) {
    const m4 = CIDR4.exec(cidr);
    const m6 = CIDR6.exec(cidr);
    if (
      !(m4 && m4.slice(1, 5).every((o) => Number(o) <= 255) && Number(m4[5]) <= 32) &&
      !(m6 && cidr.includes(':') && Number(m6[1]) <= 128)
    )
      throw new InputError(
        'allow-cidrs',
        `'${cidr}' is not a CIDR`,
        "networks such as '10.0.0.0/8' or '2001:db8::/32'",
      );
    if (/\/0$/.test(cidr) && !v['allow-public'])
      throw new InputError(
        'allow-cidrs',
        `holds '${cidr}': anyone on the internet would reach each environment and its API server`,
        "the internal network or VPN ranges (e.g. '10.0.0.0/8'), or 'allow-public: true' when the environments are meant to be public",
      );
  }
  const instanceType = v['instance-type'];
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType))
    throw new InputError(
      'instance-type',
      `'${instanceType}' is not an instance type`,
      "a type such as 't3.xlarge'",
    );
  const region = raw['aws-region'].trim() || awsRegion;
  if (!region)
    throw new InputError(
      'aws-region',
      "is empty, and 'isolation: ec2' needs a region",
      "a region such as 'eu-west-1' (or AWS_REGION in the environment)",
    );
  // What is read from the shared cluster, which an instance of its own has none of.
  const shared: Array<[keyof FeatureEnvRaw, boolean, string]> = [
    ['tls-secret', raw['tls-secret'].trim() !== '', 'the certificate is read from the shared cluster'],
    [
      'access',
      v.access !== 'public',
      "private access relies on the shared cluster's ingress controller or load balancer",
    ],
    ['sleep-after', v['sleep-after'] > 0, 'an instance asleep still runs (and bills); take it down instead'],
  ];
  const refused = shared.find(([, set]) => set);
  if (refused)
    throw new InputError(
      refused[0],
      `is set, but 'isolation' is ec2: ${refused[2]}`,
      "leave it empty with 'isolation: ec2', or 'isolation: namespace'",
    );
  const instanceProfile = raw['instance-profile'].trim();
  return {
    amiName,
    amiOwner,
    instanceType,
    subnetId,
    allowCidrs,
    ...(instanceProfile ? { instanceProfile } : {}),
    readyTimeoutMs: v['vm-ready-timeout'],
    region,
  };
}
