import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  InputError,
  asBool,
  asCount,
  oneOf,
  splitCommandLine,
  asDuration,
  asLines,
  asTrimmed,
  parseInputs,
  parseList,
} from '../core/index.js';
import type { InputSpec, RawInputs } from '../core/index.js';
import { parseImageInput, parseImageReference, type ImageReference } from '../images/index.js';
import type { BuilderChoice, BuildSecret } from '../builder/index.js';
import type { ClusterTarget } from '../kube/index.js';
import type { BuiltImage, DeployResult } from './types.js';
import { BUILD_INPUT_DEFS, parseBuildCommon, type AttestInputs } from '../builder/index.js';
import { parseImageEntries } from './images/index.js';
import type { PruneOptions } from './prune.js';

/** The inputs of action-deploy-k8s and `c2c deploy`: names, defaults and meaning. */
export const DEPLOY_INPUTS = {
  manifests: {
    default: '',
    description:
      'Files, directories or globs of YAML (newline-separated). A directory holding `kustomization.yaml` is rendered with kustomize (the one embedded in kubectl, or `kustomize` on PATH). Required unless `chart` is set (then both are deployed as one set).',
    parse: asLines,
  },
  chart: {
    default: '',
    description:
      "A Helm chart to deploy: a chart directory in the workspace, or an OCI reference `oci://registry/path/chart`. Rendered with `helm template` (the cluster's version and API versions passed), then deployed as manifests are: images substituted and pinned, validated, applied, watched, rolled back. No Helm release is recorded. `pre-install`/`pre-upgrade` hook Jobs run first (as pre-deploy Jobs); `test` hooks are left out (as `helm install` does); other hooks are refused.",
  },
  'chart-version': {
    default: '',
    description: 'The version of an OCI `chart` (`helm template --version`). Default: the newest.',
  },
  values: {
    default: '',
    description:
      'Values files for `chart`, newline-separated, relative to the workspace; later ones win (`helm --values`).',
    parse: asLines,
  },
  set: {
    default: '',
    description:
      'Values for `chart`, newline-separated `key=value` (`helm --set`), applied after `values`. Not for secrets: they end up in the manifests.',
    parse: asLines,
  },
  'release-name': {
    default: '',
    description: "The release name the chart is rendered with (`.Release.Name`). Default: the chart's name.",
  },
  namespace: {
    default: '',
    description:
      'Namespace for namespaced objects that name none. An object naming another namespace is an error. The namespace must exist, be a Namespace manifest in the set, or be created with `create-namespace`.',
    parse: namespaceName,
  },
  'create-namespace': {
    default: 'false',
    description:
      'Create the namespace of `namespace` when it does not exist (like a Namespace manifest in the set).',
    parse: asBool,
  },
  images: {
    default: '',
    description:
      'Newline-separated image references substituted into the containers and initContainers of workloads, matched by repository (registry host with port, and path); tag and/or digest replaced.',
    parse: imageList,
  },
  'build-context': { default: '', description: 'When set: build this context and push it to `image`.' },
  services: {
    default: '',
    description:
      'Instead of `build-context`, for many services in one repository: newline-separated directories or globs (e.g. `services/*`); each matched directory holding a Dockerfile (or `dockerfile`) is a service named by its directory, pushed to `image` with `{service}` replaced (e.g. `ghcr.io/org/shop-{service}`). Each is tagged `src-` + a hash of its files, its Dockerfile and the build args (`base-image` among them): a service whose tag exists already is reused, the others are built in parallel, and the whole set is deployed in one step, nothing applied unless every build succeeded.',
    parse: asLines,
  },
  parallel: {
    default: '0',
    description: 'How many `services` are built at once; 0: as many as the machine has CPUs.',
    parse: asCount(64),
  },
  dockerfile: {
    default: 'Dockerfile',
    description: 'Dockerfile, relative to `build-context`.',
    parse: asTrimmed,
  },
  image: {
    default: '',
    description:
      "Repository the built image is pushed to (ECR or any OCI registry), e.g. `ghcr.io/org/app`; with `services`, `{service}` stands for each service's name. A container in the manifests must name this repository exactly, registry host and port included: its image is replaced by the built one.",
  },
  'push-to': {
    default: '',
    description:
      "Where the images this run builds are pushed, instead of `image` (with `services`, `{service}` stands for each service's name). `image` still names the containers a built image replaces, and is where an image is looked for first (read only, under its tag); then `push-to`. For runs of unreviewed code (a pull request's feature environment): push to a repository main's deploy never reads, such as `shop-pr-{service}`, while unchanged services still run main's images.",
    parse: asTrimmed,
  },
  tag: {
    default: '',
    description: 'Tag of the built image. Default: `sha-` + the first 12 hex characters of the commit.',
    parse: asTrimmed,
  },
  rebuild: {
    default: 'false',
    description:
      'Build and push even when `image:tag` exists already. By default an existing image built from the same commit (its `org.opencontainers.image.revision` label) is used as it is, so a re-run rebuilds and restarts nothing. A content tag (the default `sha-…`, `src-…` of `services`) is never moved: a rebuild that makes the same image pushes nothing, one that makes another image fails naming both; a tag you set with `tag` is pushed again.',
    parse: asBool,
  },
  'base-image': {
    default: '',
    description: "Passed as build arg `BASE_IMAGE` (e.g. action-hash-base's `image-ref`).",
    parse: asTrimmed,
  },
  'build-args': BUILD_INPUT_DEFS['build-args'],
  secrets: BUILD_INPUT_DEFS.secrets,
  'secret-files': BUILD_INPUT_DEFS['secret-files'],
  builder: BUILD_INPUT_DEFS.builder,
  platforms: BUILD_INPUT_DEFS.platforms,
  cache: BUILD_INPUT_DEFS.cache,
  'registry-username': {
    default: '',
    description:
      'Registry user for non-ECR registries: for the registry of `image`, or, without a build, of the `images` entries (when they name one registry). ECR hosts use AWS credentials from the environment.',
  },
  'registry-password': BUILD_INPUT_DEFS['registry-password'],
  sbom: BUILD_INPUT_DEFS.sbom,
  provenance: BUILD_INPUT_DEFS.provenance,
  'sign-key': BUILD_INPUT_DEFS['sign-key'],
  'sign-key-password': BUILD_INPUT_DEFS['sign-key-password'],
  'verify-key': {
    default: '',
    description:
      "Refuses, before anything is applied, every image of the set without a valid signature by this key (named, with what was found): a cosign public key (`cosign.pub`) given as the key itself, `env://NAME` or a path, or an AWS KMS key, `awskms:///alias/NAME`. A Sigstore bundle among the image's referrers (cosign v3, `sign-key`) or a cosign v2 `.sig` signature counts. Needs `pin-digests: true`: what runs is the digest that was verified. For verification by identity (keyless) see the README.",
  },
  'verify-identity': {
    default: '',
    description:
      "Keyless instead of `verify-key`: every image must carry a Sigstore bundle whose Fulcio certificate names this identity (the signing workflow's URI, e.g. `https://github.com/acme/shop/.github/workflows/deploy.yml@refs/heads/main`) and whose Rekor entry verifies, against Sigstore's public instance (its root fetched through TUF).",
    parse: asTrimmed,
  },
  'verify-issuer': {
    default: 'https://token.actions.githubusercontent.com',
    description: 'The OIDC issuer the `verify-identity` certificate must name (GitHub Actions by default).',
    parse: asTrimmed,
  },
  'pin-digests': {
    default: 'true',
    description: 'Resolve every substituted tag to its digest and apply `repo@sha256:…`.',
    parse: asBool,
  },
  timeout: {
    default: '10m',
    description:
      'How long the rollouts may take, all workloads together, e.g. `90s`, `10m`. The rollback after a failure has its own `rollback-timeout`.',
    parse: asDuration,
  },
  'fail-fast': {
    default: 'true',
    description:
      'Fail a rollout as soon as its new pods are in a state that will not heal without a new change: an image pull failing past `fail-fast-grace`, InvalidImageName, CreateContainerConfigError (a missing Secret or ConfigMap key), CrashLoopBackOff after 3 restarts; then roll back. `false`: wait for the progress deadline or `timeout`.',
    parse: asBool,
  },
  'fail-fast-grace': {
    default: '60s',
    description:
      'How long an image pull may keep failing (ErrImagePull, ImagePullBackOff) before fail-fast fails the rollout.',
    parse: asDuration,
  },
  strategy: {
    default: 'rolling',
    description:
      "`rolling`: each Deployment's own rolling update. `canary`: a changed Deployment's new template first runs as `<name>-canary` (`canary-replicas` pods, behind the same Service) for `canary-duration`, watched and, with `canary-check`, probed; healthy, the Deployment gets the new template and the canary goes (with `promote: manual`, the step stops there); unhealthy, the canary goes and the Deployment is never touched. `canary-promote` / `canary-abort`: finish a manual canary (promote: a rolling deploy, then the canaries removed; abort: the canaries removed, nothing else). Canary works for Deployments only.",
    parse: oneOf(['rolling', 'canary', 'canary-promote', 'canary-abort'] as const),
  },
  'canary-replicas': {
    default: '1',
    description: 'How many pods the canary of each changed Deployment runs.',
    parse: asCount(100),
  },
  'canary-percent': {
    default: '',
    description:
      "Instead of `canary-replicas`: the canary's pods as a share of each Deployment's current replicas, 1 to 100 (rounded up, at least 1).",
  },
  'canary-duration': {
    default: '2m',
    description:
      'How long a ready canary must stay healthy (and `canary-check` answer 2xx) before it is promoted.',
    parse: asDuration,
  },
  'canary-check': {
    default: '',
    description:
      'An http(s) URL that must answer 2xx throughout `canary-duration` (probed every 2 s), e.g. the Service through the Ingress; or a command that must exit 0 each time (run in the workspace without a shell: quotes group words, nothing is expanded), e.g. `./scripts/smoke.sh --canary`.',
  },
  promote: {
    default: 'auto',
    description:
      '`auto`: a healthy canary is promoted at once. `manual`: the step stops with the canary running; a later step with `strategy: canary-promote` (after an approval, say) or `canary-abort` finishes it.',
    parse: oneOf(['auto', 'manual'] as const),
  },
  'rollback-on-failure': {
    default: 'true',
    description:
      'When a rollout fails: restore each changed workload to its previous revision and wait for it, and every other object the run changed (ConfigMaps, Services, HPAs) as it was; what the run created stays. When the apply itself fails half-way: restore what it changed and remove what it created.',
    parse: asBool,
  },
  'rollback-timeout': {
    default: '5m',
    description: 'How long to wait for the rollback of a failed rollout, after `timeout`.',
    parse: asDuration,
  },
  prune: {
    default: 'false',
    description:
      'Remove what an earlier run of the same set applied and the manifests no longer hold, after a successful rollout. The set is a kubectl ApplySet (KEP-3659): a parent ConfigMap `prune-set` in the namespace, `applyset.kubernetes.io/part-of` on every member; an object without that label is never removed. A dry run lists what would be removed.',
    parse: asBool,
  },
  'prune-set': {
    default: '',
    description:
      "The ApplySet's name (its parent ConfigMap), unique per set of manifests in the namespace. Default: `c2c-` + the repository and a hash of `manifests` and `chart` (GITHUB_REPOSITORY; for `c2c`, C2C_REPOSITORY).",
  },
  'prune-volumes': {
    default: 'false',
    description: '`true`: prune may remove PersistentVolumeClaims (and with them, often, their data).',
    parse: asBool,
  },
  'prune-namespaces': {
    default: 'false',
    description: '`true`: prune may remove Namespaces (and everything in them).',
    parse: asBool,
  },
  'lock-timeout': {
    default: '10m',
    description:
      "How long to wait for another run's deploy lock on a target namespace (a Lease `commit-to-cloud-deploy` there, held while a run writes and watches; the action and `c2c` share it). After it, the step fails naming the holder, having changed nothing.",
    parse: asDuration,
  },
  'dry-run': {
    default: 'false',
    description: 'Server-side dry run of everything: print what would change, change nothing.',
    parse: asBool,
  },
  'force-conflicts': {
    default: 'false',
    description:
      'Take over fields another field manager owns (server-side apply `force`). Without it a conflict fails the step and names the fields.',
    parse: asBool,
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
    parse: asTrimmed,
  },
  'environment-url': {
    default: '',
    description: 'URL of the deployed environment, shown on the GitHub Deployment.',
    parse: httpUrl,
  },
  token: {
    default: '${{ github.token }}',
    secret: true,
    description: 'GitHub token for the Deployment and the run approvals lookup.',
    parse: givenToken,
  },
  annotate: {
    default: 'true',
    description: 'Annotate what is applied with the commit, ref, run URL, actor and who approved the run.',
    parse: asBool,
  },
} as const satisfies InputSpec;

export type DeployRaw = RawInputs<typeof DEPLOY_INPUTS>;

export const DEPLOY_OUTPUTS = {
  image: 'The pushed image as `repo@digest`, when one was built (or reused); empty with several `services`.',
  digest: 'The digest of the built image.',
  images:
    'Every image built or reused, as JSON: service name (for `build-context`, its directory\'s name) to `repo@digest`, e.g. `{"api":"ghcr.io/org/shop-api@sha256:…"}`.',
  built: 'The services this run built and pushed, one per line.',
  reused: 'The services whose image existed already under its content tag (not built), one per line.',
  'image-refs':
    'Every image built or reused as `repo@digest`, one per line: the `images` input of a later deploy (production runs the very digests staging ran).',
  canary:
    'With a canary strategy: `healthy` (promote: manual, the canary runs), `promoted`, `aborted`; empty otherwise.',
  pruned: 'What prune removed (kind/namespace/name, one per line); in a dry run, what it would remove.',
  applied:
    'Every object of the set, `kind/namespace/name`, one per line; ` (unchanged)` after those the server-side dry run showed unchanged, which were not written. In a dry run: what the apply would do, the same way.',
  'rolled-back': '`true` when a failed rollout was rolled back.',
  'deployment-id': 'The id of the GitHub Deployment, when `environment` is set.',
  result: '`success`, `failed`, `rolled-back` or `dry-run`.',
} as const;

/** The outputs about the images (`images`, `built`, `reused`, `image-refs`): deploy-k8s's and feature-env's. */
export function buildOutputs(
  builds: readonly BuiltImage[],
): Record<'images' | 'built' | 'reused' | 'image-refs', string> {
  return {
    images: JSON.stringify(Object.fromEntries(builds.map((b) => [b.name, b.image]))),
    built: builds
      .filter((b) => b.built)
      .map((b) => b.name)
      .join('\n'),
    reused: builds
      .filter((b) => !b.built && b.image)
      .map((b) => b.name)
      .join('\n'),
    'image-refs': builds
      .filter((b) => b.image)
      .map((b) => b.image)
      .join('\n'),
  };
}

/** The step's outputs from a deploy's result: one mapping, for the action and `c2c deploy` alike. */
export function deployOutputs(r: DeployResult): Record<keyof typeof DEPLOY_OUTPUTS, string> {
  return {
    image: r.image,
    digest: r.digest,
    ...buildOutputs(r.builds),
    applied: r.applied.join('\n'),
    pruned: (r.pruned ?? []).join('\n'),
    canary: r.canary ?? '',
    'rolled-back': String(r.rolledBack),
    'deployment-id': r.deploymentId,
    result: r.result,
  };
}

/** The `services` input and the build inputs every service shares. */
export interface ServicesOption {
  patterns: string[];
  /** `image` with `{service}` in it (or without, for one service). */
  image: string;
  /** `push-to`, the same way: where a built image goes instead. */
  pushTo?: string;
  /** The Dockerfile, relative to each service's directory. */
  dockerfile: string;
  buildArgs: Array<[string, string]>;
  secrets?: BuildSecret[];
  builder: BuilderChoice;
  /** os/arch[/variant] to build for; more than one: one image index. Empty: the runner's. */
  platforms: string[];
  /** A layer cache in `<repository>-cache` (`cache: registry`). */
  layerCache: boolean;
  rebuild: boolean;
  /** How many build at once. */
  parallel: number;
}

/** A Helm chart to render into the set (`chart`, `values`, `set`, `release-name`). */
export interface ChartOption {
  /** An absolute chart directory, or `oci://…`. */
  ref: string;
  version?: string;
  /** Absolute values files, in order. */
  values: string[];
  /** `key=value`, in order. */
  set: string[];
  releaseName: string;
  namespace?: string;
}

export interface DeployOptions {
  workspace: string;
  manifests: string[];
  /** What goes with every pushed image: `sbom`, `provenance`, `sign-key` (read by readAttest). */
  attest?: AttestInputs;
  /** `verify-key` (a key) or `verify-identity` (keyless): every image must be signed so (readVerifyKey). */
  verifyKey?: string | { identity: string; issuer: string };
  chart?: ChartOption;
  /** Prune as an ApplySet (`prune: true`). */
  prune?: PruneOptions;
  strategy: 'rolling' | 'canary' | 'canary-promote' | 'canary-abort';
  /** With strategy canary. */
  canary?: {
    replicas: number;
    /** Instead of replicas: a share of each Deployment's current replicas (rounded up, at least 1). */
    percent?: number;
    durationMs: number;
    /** A URL that must answer 2xx. */
    check?: string;
    /** Or a command (an argument array, run without a shell in the workspace) that must exit 0. */
    command?: string[];
    promote: 'auto' | 'manual';
  };
  namespace?: string;
  images: ImageReference[];
  build?: {
    context: string;
    dockerfile: string;
    image: ImageReference;
    /** `push-to`: where the built image is pushed instead of `image` (which is looked in first). */
    push?: ImageReference;
    tag: string;
    buildArgs: Array<[string, string]>;
    /** Build secrets (`secrets`, `secret-files`). */
    secrets?: BuildSecret[];
    builder: BuilderChoice;
    /** os/arch[/variant] to build for; more than one: one image index. Empty: the runner's. */
    platforms: string[];
    /** A layer cache in `<repository>-cache` (`cache: registry`). */
    layerCache: boolean;
    rebuild: boolean;
    /** `tag` was given (it may be moved, e.g. latest); the default sha-<commit> is not. */
    movingTag: boolean;
  };
  /** `services`: the patterns of the service directories and how each is built (expanded and hashed by prepareDeploy). */
  services?: ServicesOption;
  username?: string;
  password?: string;
  pinDigests: boolean;
  createNamespace: boolean;
  timeoutMs: number;
  failFast: boolean;
  failFastGraceMs: number;
  rollbackOnFailure: boolean;
  rollbackTimeoutMs: number;
  /** How long to wait for another run's deploy lock (when the context asks for one). */
  lockTimeoutMs: number;
  dryRun: boolean;
  forceConflicts: boolean;
  cluster: ClusterTarget;
  environment?: string;
  environmentUrl?: string;
  token?: string;
  annotate: boolean;
}

const NS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The `namespace` input: empty, or a namespace name. */
function namespaceName(value: string, name: string): string {
  const namespace = value.trim();
  if (namespace && (!NS.test(namespace) || namespace.length > 63))
    throw new InputError(
      name,
      `'${namespace}' is not a valid namespace name`,
      'lowercase letters, digits and -, at most 63 characters',
    );
  return namespace;
}

/** The `images` input: image references, each with a tag or digest, none contradicting another. */
function imageList(value: string, name: string): ImageReference[] {
  const list = parseList(value);
  // Malformed, tag-less or contradicting entries: one error before anything happens.
  parseImageEntries(list);
  return list.map((v) => {
    try {
      return parseImageReference(v);
    } catch (e) {
      throw new InputError(
        name,
        (e as Error).message,
        "references such as 'ghcr.io/org/app:v2' or '127.0.0.1:5000/app@sha256:…'",
      );
    }
  });
}

/** An input that is empty or an http(s) URL. */
function httpUrl(value: string, name: string): string {
  const url = value.trim();
  if (url && !/^https?:\/\/\S+$/.test(url))
    throw new InputError(
      name,
      `'${url}' is not an http(s) URL`,
      "a URL such as 'https://staging.example.com'",
    );
  return url;
}

/** A token input: empty when it is the unexpanded default expression (outside a runner: the CLI). */
function givenToken(value: string): string {
  return value.startsWith('${{') ? '' : value;
}

/** strategy and the canary inputs, checked together. */
function parseStrategy(v: {
  strategy: DeployOptions['strategy'];
  'canary-replicas': number;
  'canary-percent': string;
  'canary-duration': number;
  'canary-check': string;
  promote: 'auto' | 'manual';
  prune: boolean;
}): Pick<DeployOptions, 'strategy' | 'canary'> {
  const check = v['canary-check'].trim();
  if (v.strategy !== 'canary') return { strategy: v.strategy };
  let command: string[] | undefined;
  if (check && !/^https?:\/\//.test(check)) {
    try {
      command = splitCommandLine(check);
    } catch (e) {
      throw new InputError(
        'canary-check',
        `'${check}' has ${(e as Error).message}`,
        'a URL, or a command line (run without a shell)',
      );
    }
  } else if (check && !/^https?:\/\/\S+$/.test(check))
    throw new InputError(
      'canary-check',
      `'${check}' is not an http(s) URL`,
      "a URL such as 'https://shop.example.com/healthz'",
    );
  const pct = v['canary-percent'].trim();
  const percent = pct ? Number(pct.replace(/%$/, '')) : undefined;
  if (percent !== undefined && !(Number.isInteger(percent) && percent >= 1 && percent <= 100))
    throw new InputError(
      'canary-percent',
      `'${pct}' is not a share from 1 to 100`,
      "a whole number such as '25'",
    );
  if (v['canary-replicas'] < 1)
    throw new InputError('canary-replicas', 'is 0: a canary needs a pod', 'a whole number from 1');
  if (v.prune)
    throw new InputError(
      'prune',
      "is true with strategy 'canary'",
      "prune with 'rolling' or 'canary-promote' (the release is not complete before)",
    );
  return {
    strategy: 'canary',
    canary: {
      replicas: v['canary-replicas'],
      ...(percent !== undefined ? { percent } : {}),
      durationMs: v['canary-duration'],
      ...(command ? { command } : check ? { check } : {}),
      promote: v.promote,
    },
  };
}

/** prune's set: `prune-set`, else one named by the repository and the inputs that make the set. */
function parsePrune(
  v: { 'prune-set': string; 'prune-volumes': boolean; 'prune-namespaces': boolean },
  manifests: string[],
  chart: ChartOption | undefined,
  env: { repository?: string },
): PruneOptions {
  let set = v['prune-set'].trim();
  if (!set) {
    if (!env.repository)
      throw new InputError(
        'prune-set',
        'is empty and the repository is unknown (no GITHUB_REPOSITORY or C2C_REPOSITORY)',
        "a name for this set of manifests, unique in the namespace, such as 'shop-web'",
      );
    const hash = createHash('sha256')
      .update(`${env.repository}\n${manifests.join('\n')}\n${chart?.ref ?? ''}`)
      .digest('hex')
      .slice(0, 8);
    const repo = env.repository
      .split('/')
      .pop()!
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .slice(0, 40);
    set = `c2c-${repo}-${hash}`.replace(/-+/g, '-');
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(set))
    throw new InputError(
      'prune-set',
      `'${set}' is not a ConfigMap name`,
      'lower-case letters, digits and -, at most 63',
    );
  return { set, volumes: v['prune-volumes'], namespaces: v['prune-namespaces'] };
}

/** `chart` and its inputs, checked: an existing chart directory or an oci:// reference, values files that exist, key=value lines. */
function parseChart(
  v: { chart: string; 'chart-version': string; values: string[]; set: string[]; 'release-name': string },
  workspace: string,
  namespace: string,
): ChartOption | undefined {
  const given = v.chart.trim();
  if (!given) {
    for (const k of ['chart-version', 'values', 'set', 'release-name'] as const)
      if (v[k].length)
        throw new InputError(k, "is set, but 'chart' is empty", "a 'chart', or no chart inputs");
    return undefined;
  }
  let ref: string;
  if (given.startsWith('oci://')) {
    if (!/^oci:\/\/[^/\s]+\/\S+[^/]$/.test(given))
      throw new InputError(
        'chart',
        `'${given}' is not an OCI chart reference`,
        "'oci://registry/path/chart'",
      );
    ref = given;
  } else {
    ref = path.resolve(workspace, given);
    if (!existsSync(path.join(ref, 'Chart.yaml')))
      throw new InputError(
        'chart',
        `'${given}' is not a chart directory (no Chart.yaml in it)`,
        "a chart directory relative to the workspace, or 'oci://registry/path/chart'",
      );
    if (v['chart-version'].trim())
      throw new InputError(
        'chart-version',
        'is for an OCI chart',
        "an 'oci://' chart, or no 'chart-version'",
      );
  }
  const values = v.values.map((f) => {
    const abs = path.resolve(workspace, f);
    if (!existsSync(abs))
      throw new InputError(
        'values',
        `'${f}' does not exist in the workspace`,
        'values files relative to the workspace',
      );
    return abs;
  });
  for (const line of v.set)
    if (!/^[^=\s][^=]*=/.test(line))
      throw new InputError(
        'set',
        `'${line}' is not key=value`,
        "lines such as 'replicaCount=2' or 'image.tag=v2'",
      );
  const releaseName = v['release-name'].trim() || path.basename(given).replace(/\.tgz$/, '');
  if (!/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/.test(releaseName))
    throw new InputError(
      'release-name',
      `'${releaseName}' is not a release name`,
      'lower-case letters, digits and -, at most 53',
    );
  return {
    ref,
    ...(v['chart-version'].trim() ? { version: v['chart-version'].trim() } : {}),
    values,
    set: v.set,
    releaseName,
    ...(namespace ? { namespace } : {}),
  };
}

/**
 * Validates every input before anything happens: each input's own format by its parser (in
 * DEPLOY_INPUTS), then what depends on several. `sha` is the commit (GITHUB_SHA or git HEAD).
 */
export function parseDeployInputs(
  raw: DeployRaw,
  workspace: string,
  env: { sha?: string; awsRegion?: string; repository?: string } = {},
): DeployOptions {
  const v = parseInputs(DEPLOY_INPUTS, raw);
  const { manifests, namespace, images } = v;
  const chart = parseChart(v, workspace, namespace);
  if (manifests.length === 0 && !chart)
    throw new InputError(
      'manifests',
      "no file, directory or glob given, and no 'chart'",
      "paths such as 'k8s/' or 'deploy/*.yaml', or a Helm 'chart'",
    );
  const common = parseBuildCommon(raw, workspace);
  const { builder, buildArgs, secrets, layerCache } = common;
  if (v['create-namespace'] && !namespace)
    throw new InputError(
      'create-namespace',
      "is true but 'namespace' is empty: there is no namespace to create",
      "a 'namespace', or a Namespace manifest in the set instead",
    );

  let build: DeployOptions['build'];
  let services: ServicesOption | undefined;
  const ctxRaw = raw['build-context'].trim();
  const base = v['base-image'];
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
  if (v.services.length && ctxRaw)
    throw new InputError(
      'services',
      "and 'build-context' are both set",
      "one of them: 'services' for many services, 'build-context' for one",
    );
  if (v.services.length) {
    if (!raw.image.trim())
      throw new InputError(
        'image',
        "is empty but 'services' is set: there is nowhere to push",
        "a repository with {service} in it, such as 'ghcr.io/org/shop-{service}'",
      );
    // The repository each service gets is checked once the services are known (prepareDeploy).
    parseImageInput('image', raw.image.replace(/\{service\}/g, 'service'), { repositoryOnly: true });
    if (v['push-to'])
      parseImageInput('push-to', v['push-to'].replace(/\{service\}/g, 'service'), { repositoryOnly: true });
    services = {
      patterns: v.services,
      image: raw.image.trim(),
      ...(v['push-to'] ? { pushTo: v['push-to'] } : {}),
      dockerfile: v.dockerfile || 'Dockerfile',
      buildArgs,
      ...(secrets ? { secrets } : {}),
      builder,
      platforms: v.platforms,
      layerCache,
      rebuild: v.rebuild,
      parallel: v.parallel || availableParallelism(),
    };
  } else if (raw.image.includes('{service}'))
    throw new InputError(
      'image',
      "holds {service}, but 'services' is empty",
      "the services to build ('services: services/*'), or a repository without {service}",
    );
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
    const dockerfile = path.resolve(context, v.dockerfile || 'Dockerfile');
    if (!existsSync(dockerfile))
      throw new InputError(
        'dockerfile',
        `'${raw.dockerfile}' does not exist in '${ctxRaw}'`,
        'a Dockerfile path relative to `build-context`',
      );
    let tag = v.tag;
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
    const push = v['push-to']
      ? parseImageInput('push-to', v['push-to'], { repositoryOnly: true })
      : undefined;
    build = {
      context,
      dockerfile,
      image,
      ...(push ? { push } : {}),
      tag,
      buildArgs,
      secrets,
      builder,
      platforms: v.platforms,
      layerCache,
      rebuild: v.rebuild,
      movingTag: !!v.tag,
    };
  } else if (v['push-to'] && !services) {
    throw new InputError(
      'push-to',
      "is set, but nothing is built ('build-context' and 'services' are empty)",
      "a build, or no 'push-to'",
    );
  } else if (raw.image.trim() && !services) {
    throw new InputError(
      'build-context',
      "is empty but 'image' is set",
      "the directory to build, or no 'image'",
    );
  }

  const cluster = parseCluster(raw, env);
  const { username, password, attest } = common;
  const verifyKey = v['verify-key'].trim();
  const identity = v['verify-identity'];
  if (verifyKey && identity)
    throw new InputError(
      'verify-identity',
      "and 'verify-key' are both set",
      'one of them: a key, or a keyless identity',
    );
  if ((verifyKey || identity) && !v['pin-digests'])
    throw new InputError(
      verifyKey ? 'verify-key' : 'verify-identity',
      "is set but 'pin-digests' is false: a signature vouches for a digest, and what runs must be that digest",
      "'pin-digests: true' (the default), or no signature check",
    );
  const { environment, token } = v;
  const environmentUrl = v['environment-url'];
  return {
    workspace,
    manifests,
    ...(attest.sbom || attest.provenance || attest.signKey ? { attest } : {}),
    ...(verifyKey ? { verifyKey } : identity ? { verifyKey: { identity, issuer: v['verify-issuer'] } } : {}),
    ...(chart ? { chart } : {}),
    ...(v.prune ? { prune: parsePrune(v, manifests, chart, env) } : {}),
    ...parseStrategy(v),
    ...(namespace ? { namespace } : {}),
    images,
    ...(build ? { build } : {}),
    ...(services ? { services } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    pinDigests: v['pin-digests'],
    createNamespace: v['create-namespace'],
    timeoutMs: v.timeout,
    failFast: v['fail-fast'],
    failFastGraceMs: v['fail-fast-grace'],
    rollbackOnFailure: v['rollback-on-failure'],
    rollbackTimeoutMs: v['rollback-timeout'],
    lockTimeoutMs: v['lock-timeout'],
    dryRun: v['dry-run'],
    forceConflicts: v['force-conflicts'],
    cluster,
    ...(environment ? { environment } : {}),
    ...(environmentUrl ? { environmentUrl } : {}),
    ...(token ? { token } : {}),
    annotate: v.annotate,
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
