import os from 'node:os';
import type { InputSpec } from '../../core/index.js';
import { withDefaults } from '../../core/index.js';
import { DEPLOY_INPUTS, parseDeployInputs } from '../../deploy/index.js';
import { HASH_BASE_INPUTS, parseHashBaseInputs } from '../../baseimage/index.js';
import { runPlan, type PlannedBuild, type PlanResult } from '../../plan/index.js';
import type { CliCommand } from '../command.js';
import { KUBECONFIG_FLAG_HELP, useKubeconfigFile } from '../context.js';
import { UsageError } from '../flags.js';
import { table } from '../output.js';
import { cliRepository, deployAudit } from './deploy.js';

/**
 * `c2c plan`: what `c2c hash-base` then `c2c deploy` would do, changing nothing.
 *
 * The flag scheme: every flag of `c2c deploy` as it is (`--manifests`, `--image`, `--build-context`,
 * `--base-image`, ...), and every flag of `c2c hash-base` with the prefix `hash-` (`--files` is
 * `--hash-files`, `--image` is `--hash-image`). A pipeline's two command lines become one plan by
 * prefixing the first one's flags; no flag means two things. Left out: deploy's `dry-run` (a plan is
 * one), `environment`, `environment-url` and `token` (a plan records nothing on GitHub).
 */
export const HASH_PREFIX = 'hash-';
const NOT_IN_PLAN = new Set(['dry-run', 'environment', 'environment-url', 'token']);

const PLAN_DEPLOY_INPUTS: InputSpec = Object.fromEntries(
  Object.entries(DEPLOY_INPUTS).filter(([k]) => !NOT_IN_PLAN.has(k)),
);
const PLAN_HASH_INPUTS: InputSpec = Object.fromEntries(
  Object.entries(HASH_BASE_INPUTS).map(([k, def]) => [
    `${HASH_PREFIX}${k}`,
    // --hash-files is needed only when there is a base image to plan.
    { ...def, required: false, description: `hash-base's \`${k}\`: ${def.description}` },
  ]),
);

/** A titled block of aligned columns, indented under its title. */
function section(title: string, rows: string[][]): string {
  const header = (rows[0] ?? []).map(() => '');
  return [
    title,
    ...table(header, rows)
      .split('\n')
      .slice(1)
      .map((l) => `  ${l}`),
  ].join('\n');
}

/** The plan for people: the base, the app image, the manifests, the images, the server-side diff. */
export function planText(r: PlanResult): string {
  const out: string[] = [];
  if (r.base) {
    const b = r.base;
    const decision = !b.hash
      ? 'nothing matched (allow-empty): no base image'
      : b.exists
        ? `exists (${b.digest || b.reason}): the base build is skipped`
        : b.wouldBuild
          ? `missing: hash-base builds and pushes it (${b.reason})`
          : `missing, and hash-base would not build it (--hash-build is false): ${b.reason}`;
    const rows = [
      ['hash', b.hash ? `${b.hash} (${b.filesCount} file(s), ${b.mode})` : '(empty)'],
      ...(b.imageRef ? [['image', b.imageRef]] : []),
      ['decision', decision],
      ...(b.previous ? [['compared with', b.previous]] : []),
      ...b.changed.map((c, i) => [i === 0 ? 'changed' : '', c]),
    ];
    out.push(section('Base image (hash-base)', rows), '');
  }
  if (r.build) {
    const b = r.build;
    out.push(
      section('App image (deploy)', [
        ['build', `${b.context} -> ${b.image}`],
        ...(b.baseImage ? [['on', b.baseImage]] : []),
        [
          'decision',
          b.exists
            ? `exists for this commit (${b.digest}): reused, not built`
            : 'would be built and pushed (the manifests below name it by tag until then)',
        ],
      ]),
      '',
    );
  }
  if (r.services) {
    const built = r.services.filter((b) => !b.exists).length;
    out.push(
      section(
        `Service images (deploy): ${built} to build, ${r.services.length - built} reused`,
        r.services.map((b) => [
          b.name,
          b.image,
          b.exists
            ? `exists (${b.digest}): reused, not built`
            : `would be built from ${b.context} and pushed${b.baseImage ? ` on ${b.baseImage}` : ''}`,
        ]),
      ),
      '',
    );
  }
  out.push('Manifests (as the deploy would apply them)', r.yaml.trimEnd(), '');
  out.push(
    r.images.length
      ? section(
          'Images',
          r.images.map((i) => [i.workload, i.container, `${i.image}${i.from ? ` (was ${i.from})` : ''}`]),
        )
      : 'Images: none (no workload in the manifests)',
    '',
  );
  const d = r.diff;
  if (d.status === 'skipped') out.push(`Server-side diff: skipped (${d.reason})`);
  else if (d.status === 'denied')
    out.push(`Server-side diff: not possible, the credentials are refused`, d.reason);
  else if (d.status === 'refused')
    out.push(`Server-side diff (dry run on ${d.server}): the cluster refuses the set`, d.reason);
  else {
    const counts = ['created', 'configured', 'unchanged']
      .map((s) => [s, d.lines.filter((l) => l.startsWith(`${s} `)).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`);
    out.push(
      `Server-side diff (dry run on ${d.server}): ${counts.join(', ') || 'nothing'}`,
      ...d.lines.map((l) => `  ${l}`),
    );
  }
  return out.join('\n') + '\n';
}

function plannedBuildJson(b: PlannedBuild) {
  return {
    context: b.context,
    image: b.image,
    exists: b.exists,
    digest: b.digest,
    'base-image': b.baseImage ?? null,
  };
}

/** `plan --json`: the same, keys kebab-case as the actions' outputs; the manifests as objects. */
export function planJson(r: PlanResult): Record<string, unknown> {
  return {
    base: r.base
      ? {
          hash: r.base.hash,
          tag: r.base.tag,
          'image-ref': r.base.imageRef,
          exists: r.base.exists,
          digest: r.base.digest,
          reason: r.base.reason,
          changed: r.base.changed,
          previous: r.base.previous ?? null,
          'files-count': r.base.filesCount,
          mode: r.base.mode,
          'would-build': r.base.wouldBuild,
        }
      : null,
    build: r.build ? plannedBuildJson(r.build) : null,
    services: r.services ? r.services.map((b) => ({ name: b.name, ...plannedBuildJson(b) })) : null,
    images: r.images.map((i) => ({
      workload: i.workload,
      container: i.container,
      image: i.image,
      from: i.from ?? null,
    })),
    manifests: r.objects,
    diff: r.diff,
  };
}

export const planCommand: CliCommand = {
  name: 'plan',
  summary:
    'What hash-base then deploy would do, changing nothing: the base decision, the images, the manifests pinned to digests, the server-side diff.',
  inputs: { ...PLAN_DEPLOY_INPUTS, ...PLAN_HASH_INPUTS },
  required: ['manifests|chart'],
  helpOverrides: { kubeconfig: KUBECONFIG_FLAG_HELP },
  sections: [
    {
      title: "deploy's flags (c2c deploy --help), as they are:",
      flags: Object.keys(PLAN_DEPLOY_INPUTS),
    },
    {
      title:
        "hash-base's flags (c2c hash-base --help), each prefixed with hash-; without --hash-files no base image is planned:",
      flags: Object.keys(PLAN_HASH_INPUTS),
    },
  ],
  notes: [
    'Nothing is built, pushed or applied. The image a deploy would build stays at its tag in the manifests,',
    'unless it exists for this commit already (then it is pinned, as the deploy would reuse it). When no',
    '--base-image is given, the base of --hash-image is shown as the base of that build. With --services,',
    "each service's content tag is computed on that base and looked up: reused when the registry has it.",
    "The diff is the deploy engine's server-side dry run (created / configured / unchanged per object); with",
    'no cluster (no kubeconfig, or the server does not answer) the rest is printed and the diff is skipped.',
    'Exit code 1 when the cluster refuses the set (the deploy would fail the same way), or the credentials (401, 403).',
  ],
  logToStderr: true,
  async run({ raw, g }, logger) {
    useKubeconfigFile(raw);
    const deployRaw: Record<string, string> = {};
    const hashRaw: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (k in PLAN_HASH_INPUTS) hashRaw[k.slice(HASH_PREFIX.length)] = v;
      else deployRaw[k] = v;
    }
    if (Object.keys(hashRaw).length && !hashRaw.files?.trim())
      throw new UsageError(
        `flag '--hash-files' is required with ${Object.keys(hashRaw)
          .map((k) => `--${HASH_PREFIX}${k}`)
          .join(', ')}`,
      );
    const hashBase = hashRaw.files
      ? parseHashBaseInputs(withDefaults(HASH_BASE_INPUTS, hashRaw, 'flag'), g.workspace)
      : undefined;
    const { sha, audit } = await deployAudit(g.workspace);
    const deploy = parseDeployInputs(withDefaults(DEPLOY_INPUTS, deployRaw, 'flag'), g.workspace, {
      ...(sha ? { sha } : {}),
      ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}),
      ...(cliRepository() ? { repository: cliRepository()! } : {}),
    });
    const r = await runPlan(
      { ...(hashBase ? { hashBase } : {}), deploy },
      {
        logger,
        manifestDir: process.env.RUNNER_TEMP || os.tmpdir(),
        ...(sha ? { revision: sha } : {}),
        ...(audit ? { audit } : {}),
        ...(process.env.C2C_SOURCE ? { source: process.env.C2C_SOURCE } : {}),
      },
    );
    return {
      text: planText(r),
      json: planJson(r),
      ...(r.diff.status === 'refused' || r.diff.status === 'denied' ? { exitCode: 1 } : {}),
    };
  },
};
