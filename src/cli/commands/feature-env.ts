import type { InputSpec, Logger } from '../../core/index.js';
import { InputError, withDefaults } from '../../core/index.js';
import {
  featureEnvOutputs,
  type FeatureEnvContext,
  FEATURE_ENV_INPUTS,
  parseFeatureEnvInputs,
  listEnvironments,
  type ListedEnvironment,
  runFeatureEnv,
} from '../../featureenv/index.js';
import {
  GitHubClient,
  githubContextFromEnv,
  parseRepository,
  type GitHubContext,
} from '../../github/index.js';
import type { CliCommand, CliGroup } from '../command.js';
import { KUBECONFIG_FLAG_HELP, currentCommit, currentRepository, useKubeconfigFile } from '../context.js';
import type { OwnFlag, ParsedCommandLine } from '../flags.js';
import { shortDuration, table } from '../output.js';

/**
 * `c2c feature-env up|down|reap|list`: action-feature-env's engine with the command as a subcommand
 * (the action's `command` input). Without `--token` nothing is checked or recorded on GitHub, so
 * `up` fails (as the action does) unless `--allow-forks true --required-permission none` say that
 * no check is wanted; down and reap work without one.
 */

/** The action's inputs but `command` (the subcommand says it). */
const { command: _command, ...ENV_INPUTS } = FEATURE_ENV_INPUTS;
const { 'pull-request': _pr, ...REAP_INPUTS } = ENV_INPUTS;
const LIST_INPUTS = {
  isolation: FEATURE_ENV_INPUTS.isolation,
  kubeconfig: FEATURE_ENV_INPUTS.kubeconfig,
  'cluster-name': FEATURE_ENV_INPUTS['cluster-name'],
  'aws-region': FEATURE_ENV_INPUTS['aws-region'],
} satisfies InputSpec;

const OWN: Record<string, OwnFlag> = {
  repository: {
    value: 'owner/repo',
    description:
      "Whose environments these are. Default: GITHUB_REPOSITORY, else the workspace's git remote 'origin'.",
  },
};

const HELP = {
  kubeconfig: KUBECONFIG_FLAG_HELP,
  'pull-request': { value: 'N', description: 'The number of the pull request whose environment this is.' },
  token: {
    value: 'TOKEN',
    description:
      'A GitHub token: the pull request is checked (open, not a fork, labeled by someone with `required-permission`), its head commit used, the PR comment and the GitHub Deployment written. Without one `up` fails, unless `--allow-forks true --required-permission none` (no checks at all).',
  },
};

const NOTES = [
  "The head commit: with --token the pull request's; else C2C_REVISION, GITHUB_SHA, CodeBuild's or",
  "CircleCI's commit variable, else git HEAD of the workspace. GITHUB_API_URL points --token elsewhere (GHES).",
];

/** The GitHub context of a CLI run: the repository and commit of this checkout, no event. */
async function cliContext(
  { own, g }: ParsedCommandLine,
  pullRequest: number | undefined,
): Promise<{ gh: GitHubContext; repository: string; sha?: string }> {
  const repository = await currentRepository(own.repository as string | undefined, g.workspace);
  const sha = await currentCommit(g.workspace);
  const fromEnv = githubContextFromEnv(process.env);
  const { pullRequest: eventPr, ...rest } = fromEnv;
  const gh: GitHubContext = {
    ...rest,
    repository: parseRepository(repository)!,
    ...(sha ? { sha } : {}),
    // Inside a workflow run the event's pull request counts only when it is the one asked for.
    ...(eventPr && eventPr.number === pullRequest ? { pullRequest: eventPr } : {}),
  };
  return { gh, repository, ...(sha ? { sha } : {}) };
}

function run(subcommand: 'up' | 'down' | 'reap'): CliCommand['run'] {
  return async (args, logger) => {
    const { raw, g } = args;
    useKubeconfigFile(raw);
    const pullRequest = raw['pull-request'] ? Number(raw['pull-request'].trim()) : undefined;
    const { gh, repository, sha } = await cliContext(args, pullRequest);
    const opts = parseFeatureEnvInputs(
      withDefaults(FEATURE_ENV_INPUTS, { ...raw, command: subcommand }, 'flag'),
      g.workspace,
      {
        ...(sha ? { sha } : {}),
        ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}),
      },
    );
    const github = opts.token ? new GitHubClient({ token: opts.token, context: gh, logger }) : undefined;
    const ctx: FeatureEnvContext = {
      logger,
      gh,
      ...(github ? { github } : {}),
      repository,
      source: process.env.C2C_SOURCE || `${gh.serverUrl}/${repository}`,
    };
    const r = await runFeatureEnv(opts, ctx);
    if (r.failure) logger.error(r.failure);
    const outputs = featureEnvOutputs(r);
    return {
      outputs,
      text: `\n${r.summary}\n`,
      json: {
        ...outputs,
        ...(r.number ? { 'pull-request': r.number } : {}),
        reason: r.reason,
        ...(r.failure ? { failure: r.failure } : {}),
        ...(r.removed ? { removed: r.removed.map(reaped) } : {}),
        ...(r.kept ? { kept: r.kept.map(reaped) } : {}),
      },
      ...(r.failure ? { exitCode: 1 } : {}),
    };
  };
}

const reaped = (e: { namespace: string; number?: number; why: string }) => ({
  namespace: e.namespace,
  'pull-request': e.number ?? null,
  why: e.why,
});

/** `list --json`: one object per environment, the keys kebab-case as the action's outputs. */
export function listedJson(e: ListedEnvironment): Record<string, unknown> {
  return {
    namespace: e.namespace,
    state: e.state,
    'pull-request': e.number ?? null,
    'pull-request-url': e.pullRequestUrl ?? null,
    sha: e.sha ?? null,
    'created-at': e.createdAt ?? null,
    'age-seconds': e.ageSeconds ?? null,
    'expires-at': e.expiresAt ?? null,
    expired: e.expired,
    url: e.url ?? null,
    database: e.database ?? null,
    terminating: e.terminating,
    'asleep-since': e.asleepSince ?? null,
    keep: e.keep,
    ...(e.instanceId ? { 'instance-id': e.instanceId, 'instance-state': e.instanceState ?? null } : {}),
  };
}

/** The table `list` prints: one environment a line. */
export function listedTable(list: ListedEnvironment[], repository: string, now = Date.now()): string {
  if (!list.length) return `No feature environments of ${repository}.`;
  const rows = list.map((e) => {
    const expires = e.expiresAt ? Date.parse(e.expiresAt) : NaN;
    return [
      e.number ? `#${e.number}` : '-',
      `${e.state}${e.terminating ? ' (terminating)' : e.asleepSince ? ' (asleep)' : ''}`,
      e.sha ? e.sha.slice(0, 7) : '-',
      e.ageSeconds !== undefined ? shortDuration(e.ageSeconds) : '-',
      e.keep
        ? 'kept'
        : Number.isFinite(expires)
          ? e.expired
            ? `expired ${shortDuration((now - expires) / 1000)} ago`
            : `in ${shortDuration((expires - now) / 1000)}`
          : '-',
      e.url ?? '-',
      e.database ?? '-',
      e.namespace,
    ];
  });
  return table(['PR', 'STATE', 'SHA', 'AGE', 'EXPIRES', 'URL', 'DATABASE', 'NAMESPACE'], rows);
}

const listCommand: CliCommand = {
  name: 'feature-env list',
  summary: 'List the environments: pull request, commit, age, expiry, URL, database (and the warm pool).',
  inputs: LIST_INPUTS,
  own: OWN,
  helpOverrides: HELP,
  logToStderr: true,
  async run(args, logger: Logger) {
    const { raw, own, g } = args;
    useKubeconfigFile(raw);
    const repository = await currentRepository(own.repository as string | undefined, g.workspace);
    // The connection inputs only (isolation is read below: list needs no machine inputs).
    const opts = parseFeatureEnvInputs(
      withDefaults(FEATURE_ENV_INPUTS, { ...raw, isolation: 'namespace' }, 'flag'),
      g.workspace,
      { ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}) },
    );
    const now = Date.now();
    // isolation: ec2 lists the repository's instances (in aws-region); the machine inputs are not needed.
    const region = raw['aws-region']?.trim() || process.env.AWS_REGION;
    if (raw.isolation?.trim() === 'ec2' && !region)
      throw new InputError(
        'aws-region',
        "is empty, and 'isolation: ec2' needs a region",
        "a region such as 'eu-west-1' (or AWS_REGION in the environment)",
      );
    const list = await listEnvironments(
      { ...opts, ...(raw.isolation?.trim() === 'ec2' ? { machinesIn: region! } : {}) },
      { logger, repository, now: () => now },
    );
    return { text: `${listedTable(list, repository, now)}\n`, json: list.map(listedJson) };
  },
};

export const featureEnvGroup: CliGroup = {
  name: 'feature-env',
  summary:
    "Per-pull-request environments: action-feature-env's engine, the command as a subcommand (the action's `command` input).",
  commands: {
    up: {
      name: 'feature-env up',
      summary:
        "Make or update the pull request's environment: a namespace (a warm spare when there is one), its services with the images under test, its database.",
      inputs: ENV_INPUTS,
      own: OWN,
      required: ['pull-request', 'manifests'],
      helpOverrides: HELP,
      notes: NOTES,
      run: run('up'),
    },
    down: {
      name: 'feature-env down',
      summary: "Remove the pull request's environment: its namespace, its database, its claim.",
      inputs: ENV_INPUTS,
      own: OWN,
      required: ['pull-request'],
      helpOverrides: HELP,
      notes: NOTES,
      run: run('down'),
    },
    reap: {
      name: 'feature-env reap',
      summary:
        'Remove expired environments (with --token also those of closed or unlabeled pull requests), then refill the pools.',
      inputs: REAP_INPUTS,
      own: OWN,
      helpOverrides: HELP,
      notes: NOTES,
      run: run('reap'),
    },
    list: listCommand,
  },
};
