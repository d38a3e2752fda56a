import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, parseBool, parseDuration, parseList } from '../core/index.js';
import type { InputSpec, RawInputs } from '../core/index.js';
import { parseImageInput, parseImageReference, type ImageReference } from '../images/index.js';
import type { BuilderChoice, BuildSecret } from '../builder/index.js';
import type { ClusterTarget } from '../kube/index.js';
import type { DeployResult } from './types.js';
import { BUILD_INPUT_DEFS, parseBuildCommon } from '../builder/index.js';
import { parseImageEntries } from './images/index.js';

/** The inputs of action-deploy-k8s and `c2c deploy`: names, defaults and meaning. */
export const DEPLOY_INPUTS = {
  manifests: {
    required: true,
    description:
      'Files, directories or globs of YAML (newline-separated). A directory holding `kustomization.yaml` is rendered with kustomize (the one embedded in kubectl, or `kustomize` on PATH).',
  },
  namespace: {
    default: '',
    description:
      'Namespace for namespaced objects that name none. An object naming another namespace is an error. The namespace must exist, be a Namespace manifest in the set, or be created with `create-namespace`.',
  },
  'create-namespace': {
    default: 'false',
    description:
      'Create the namespace of `namespace` when it does not exist (like a Namespace manifest in the set).',
  },
  images: {
    default: '',
    description:
      'Newline-separated image references substituted into the containers and initContainers of workloads, matched by repository (registry host with port, and path); tag and/or digest replaced.',
  },
  'build-context': { default: '', description: 'When set: build this context and push it to `image`.' },
  dockerfile: { default: 'Dockerfile', description: 'Dockerfile, relative to `build-context`.' },
  image: {
    default: '',
    description:
      'Repository the built image is pushed to (ECR or any OCI registry), e.g. `ghcr.io/org/app`. A container in the manifests must name this repository exactly, registry host and port included: its image is replaced by the built one.',
  },
  tag: {
    default: '',
    description: 'Tag of the built image. Default: `sha-` + the first 12 hex characters of the commit.',
  },
  rebuild: {
    default: 'false',
    description:
      'Build and push even when `image:tag` exists already. By default an existing image built from the same commit (its `org.opencontainers.image.revision` label) is used as it is, so a re-run rebuilds and restarts nothing.',
  },
  'base-image': {
    default: '',
    description: "Passed as build arg `BASE_IMAGE` (e.g. action-hash-base's `image-ref`).",
  },
  'build-args': BUILD_INPUT_DEFS['build-args'],
  secrets: BUILD_INPUT_DEFS.secrets,
  'secret-files': BUILD_INPUT_DEFS['secret-files'],
  builder: BUILD_INPUT_DEFS.builder,
  'registry-username': {
    default: '',
    description:
      'Registry user for non-ECR registries: for the registry of `image`, or, without a build, of the `images` entries (when they name one registry). ECR hosts use AWS credentials from the environment.',
  },
  'registry-password': BUILD_INPUT_DEFS['registry-password'],
  'pin-digests': {
    default: 'true',
    description: 'Resolve every substituted tag to its digest and apply `repo@sha256:…`.',
  },
  timeout: {
    default: '10m',
    description:
      'How long the rollouts may take, all workloads together, e.g. `90s`, `10m`. The rollback after a failure has its own `rollback-timeout`.',
  },
  'fail-fast': {
    default: 'true',
    description:
      'Fail a rollout as soon as its new pods are in a state that will not heal without a new change: an image pull failing past `fail-fast-grace`, InvalidImageName, CreateContainerConfigError (a missing Secret or ConfigMap key), CrashLoopBackOff after 3 restarts; then roll back. `false`: wait for the progress deadline or `timeout`.',
  },
  'fail-fast-grace': {
    default: '60s',
    description:
      'How long an image pull may keep failing (ErrImagePull, ImagePullBackOff) before fail-fast fails the rollout.',
  },
  'rollback-on-failure': {
    default: 'true',
    description:
      'When a rollout fails: restore each changed workload to its previous revision and wait for it, and every other object the run changed (ConfigMaps, Services, HPAs) as it was; what the run created stays. When the apply itself fails half-way: restore what it changed and remove what it created.',
  },
  'rollback-timeout': {
    default: '5m',
    description: 'How long to wait for the rollback of a failed rollout, after `timeout`.',
  },
  'dry-run': {
    default: 'false',
    description: 'Server-side dry run of everything: print what would change, change nothing.',
  },
  'force-conflicts': {
    default: 'false',
    description:
      'Take over fields another field manager owns (server-side apply `force`). Without it a conflict fails the step and names the fields.',
  },
  kubeconfig: {
    default: '',
    secret: true,
    description:
      'Kubeconfig content. Else `cluster-name` + `aws-region` (EKS), else `$KUBECONFIG` or `~/.kube/config`.',
  },
  'cluster-name': {
    default: '',
    description:
      'EKS cluster name: endpoint and CA from DescribeCluster, token from the AWS credentials (no aws CLI needed).',
  },
  'aws-region': { default: '', description: 'AWS region of the EKS cluster (default: `AWS_REGION`).' },
  environment: {
    default: '',
    description:
      'When set: a GitHub Deployment for this environment, with statuses in_progress, then success or failure.',
  },
  'environment-url': {
    default: '',
    description: 'URL of the deployed environment, shown on the GitHub Deployment.',
  },
  token: {
    default: '${{ github.token }}',
    secret: true,
    description: 'GitHub token for the Deployment and the run approvals lookup.',
  },
  annotate: {
    default: 'true',
    description: 'Annotate what is applied with the commit, ref, run URL, actor and who approved the run.',
  },
} as const satisfies InputSpec;

export type DeployRaw = RawInputs<typeof DEPLOY_INPUTS>;

export const DEPLOY_OUTPUTS = {
  image: 'The pushed image as `repo@digest`, when one was built.',
  digest: 'The digest of the built image.',
  applied:
    'Every object of the set, `kind/namespace/name`, one per line; ` (unchanged)` after those the server-side dry run showed unchanged, which were not written. In a dry run: what the apply would do, the same way.',
  'rolled-back': '`true` when a failed rollout was rolled back.',
  'deployment-id': 'The id of the GitHub Deployment, when `environment` is set.',
  result: '`success`, `failed`, `rolled-back` or `dry-run`.',
} as const;

/** The step's outputs from a deploy's result: one mapping, for the action and `c2c deploy` alike. */
export function deployOutputs(r: DeployResult): Record<keyof typeof DEPLOY_OUTPUTS, string> {
  return {
    image: r.image,
    digest: r.digest,
    applied: r.applied.join('\n'),
    'rolled-back': String(r.rolledBack),
    'deployment-id': r.deploymentId,
    result: r.result,
  };
}

export interface DeployOptions {
  workspace: string;
  manifests: string[];
  namespace?: string;
  images: ImageReference[];
  build?: {
    context: string;
    dockerfile: string;
    image: ImageReference;
    tag: string;
    buildArgs: Array<[string, string]>;
    /** Build secrets (`secrets`, `secret-files`). */
    secrets?: BuildSecret[];
    builder: BuilderChoice;
    rebuild: boolean;
  };
  username?: string;
  password?: string;
  pinDigests: boolean;
  createNamespace: boolean;
  timeoutMs: number;
  failFast: boolean;
  failFastGraceMs: number;
  rollbackOnFailure: boolean;
  rollbackTimeoutMs: number;
  dryRun: boolean;
  forceConflicts: boolean;
  cluster: ClusterTarget;
  environment?: string;
  environmentUrl?: string;
  token?: string;
  annotate: boolean;
}

const NS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validates every input before anything happens. `sha` is the commit (GITHUB_SHA or git HEAD). */
export function parseDeployInputs(
  raw: DeployRaw,
  workspace: string,
  env: { sha?: string; awsRegion?: string } = {},
): DeployOptions {
  const manifests = parseList(raw.manifests, { commas: false });
  if (manifests.length === 0)
    throw new InputError(
      'manifests',
      'no file, directory or glob given',
      "paths such as 'k8s/' or 'deploy/*.yaml'",
    );
  const namespace = raw.namespace.trim();
  if (namespace && (!NS.test(namespace) || namespace.length > 63))
    throw new InputError(
      'namespace',
      `'${namespace}' is not a valid namespace name`,
      'lowercase letters, digits and -, at most 63 characters',
    );
  const imageList = parseList(raw.images);
  // Malformed, tag-less or contradicting entries: one error before anything happens.
  parseImageEntries(imageList);
  const images = imageList.map((v) => {
    try {
      return parseImageReference(v);
    } catch (e) {
      throw new InputError(
        'images',
        (e as Error).message,
        "references such as 'ghcr.io/org/app:v2' or '127.0.0.1:5000/app@sha256:…'",
      );
    }
  });
  const common = parseBuildCommon(raw, workspace);
  const { builder, buildArgs, secrets } = common;
  const timeoutMs = parseDuration('timeout', raw.timeout, '10m');
  const rollbackTimeoutMs = parseDuration('rollback-timeout', raw['rollback-timeout'], '5m');
  const failFast = parseBool('fail-fast', raw['fail-fast'], true);
  const failFastGraceMs = parseDuration('fail-fast-grace', raw['fail-fast-grace'], '60s');
  const createNamespace = parseBool('create-namespace', raw['create-namespace'], false);
  if (createNamespace && !namespace)
    throw new InputError(
      'create-namespace',
      "is true but 'namespace' is empty: there is no namespace to create",
      "a 'namespace', or a Namespace manifest in the set instead",
    );
  const pinDigests = parseBool('pin-digests', raw['pin-digests'], true);
  const rollbackOnFailure = parseBool('rollback-on-failure', raw['rollback-on-failure'], true);
  const dryRun = parseBool('dry-run', raw['dry-run'], false);
  const forceConflicts = parseBool('force-conflicts', raw['force-conflicts'], false);
  const annotate = parseBool('annotate', raw.annotate, true);

  let build: DeployOptions['build'];
  const ctxRaw = raw['build-context'].trim();
  if (ctxRaw) {
    if (!raw.image.trim())
      throw new InputError(
        'image',
        "is empty but 'build-context' is set: there is nowhere to push",
        "a repository such as 'ghcr.io/org/app'",
      );
    const image = parseImageInput('image', raw.image, { repositoryOnly: true });
    const context = path.resolve(workspace, ctxRaw);
    if (!existsSync(context) || !statSync(context).isDirectory())
      throw new InputError(
        'build-context',
        `'${ctxRaw}' is not a directory in the workspace`,
        'a build context directory relative to the workspace',
      );
    const dockerfile = path.resolve(context, raw.dockerfile || 'Dockerfile');
    if (!existsSync(dockerfile))
      throw new InputError(
        'dockerfile',
        `'${raw.dockerfile}' does not exist in '${ctxRaw}'`,
        'a Dockerfile path relative to `build-context`',
      );
    let tag = raw.tag.trim();
    if (!tag) {
      if (!env.sha)
        throw new InputError(
          'tag',
          'is empty and the commit is unknown (no GITHUB_SHA, not a git checkout)',
          "a tag such as 'v1.2.3'",
        );
      tag = `sha-${env.sha.slice(0, 12)}`;
    }
    if (!/^[\w][\w.-]{0,127}$/.test(tag))
      throw new InputError(
        'tag',
        `'${tag}' is not a valid tag`,
        'letters, digits, _ . - (not starting with . or -), at most 128',
      );
    const base = raw['base-image'].trim();
    if (base) {
      try {
        parseImageReference(base);
      } catch (e) {
        throw new InputError(
          'base-image',
          (e as Error).message,
          "an image reference such as hash-base's 'image-ref' output",
        );
      }
      if (!buildArgs.some(([k]) => k === 'BASE_IMAGE')) buildArgs.push(['BASE_IMAGE', base]);
    }
    build = {
      context,
      dockerfile,
      image,
      tag,
      buildArgs,
      secrets,
      builder,
      rebuild: parseBool('rebuild', raw.rebuild, false),
    };
  } else if (raw.image.trim()) {
    throw new InputError(
      'build-context',
      "is empty but 'image' is set",
      "the directory to build, or no 'image'",
    );
  }

  const cluster = parseCluster(raw, env);
  const { username, password } = common;
  const environmentUrl = raw['environment-url'].trim();
  if (environmentUrl && !/^https?:\/\/\S+$/.test(environmentUrl))
    throw new InputError(
      'environment-url',
      `'${environmentUrl}' is not an http(s) URL`,
      "a URL such as 'https://staging.example.com'",
    );
  const token = raw.token.startsWith('${{') ? '' : raw.token;
  return {
    workspace,
    manifests,
    ...(namespace ? { namespace } : {}),
    images,
    ...(build ? { build } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    pinDigests,
    createNamespace,
    timeoutMs,
    failFast,
    failFastGraceMs,
    rollbackOnFailure,
    rollbackTimeoutMs,
    dryRun,
    forceConflicts,
    cluster,
    ...(raw.environment.trim() ? { environment: raw.environment.trim() } : {}),
    ...(environmentUrl ? { environmentUrl } : {}),
    ...(token ? { token } : {}),
    annotate,
  };
}

/** The cluster inputs (kubeconfig, or cluster-name with aws-region, or the default kubeconfig), of every action that deploys. */
export function parseCluster(
  raw: { kubeconfig: string; 'cluster-name': string; 'aws-region': string },
  env: { awsRegion?: string } = {},
): DeployOptions['cluster'] {
  const kubeconfig = raw.kubeconfig;
  const clusterName = raw['cluster-name'].trim();
  if (kubeconfig.trim() && clusterName)
    throw new InputError(
      'kubeconfig',
      "and 'cluster-name' are both set",
      'one of them: a kubeconfig, or an EKS cluster name with aws-region',
    );
  if (kubeconfig.trim()) return { kind: 'kubeconfig', content: kubeconfig };
  if (!clusterName) return { kind: 'default' };
  const region = raw['aws-region'].trim() || env.awsRegion || '';
  if (!region)
    throw new InputError(
      'aws-region',
      `is empty, and cluster '${clusterName}' needs a region`,
      "a region such as 'eu-west-1' (or AWS_REGION in the environment)",
    );
  return { kind: 'eks', clusterName, region };
}
