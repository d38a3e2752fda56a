import type { Logger } from '../core/index.js';
import { buildOutputs, type BuiltImage, type EngineContext } from '../deploy/index.js';
import type { GitHubClient, GitHubContext } from '../github/index.js';
import type { MachineTiming, MachinesOptions } from './machine/index.js';
import type { DatabaseProvider } from './types.js';

/**
 * Where a feature-environment run happens (the action and the CLI fill it in, tests too): the
 * engine's context, and the event, the GitHub layer and the repository whose environments these are.
 */
export interface FeatureEnvContext extends Omit<EngineContext, 'revision' | 'audit'> {
  /** The event and the run (pull request, head commit, actor, run URL). */
  gh: GitHubContext;
  /** The GitHub layer; without it (a CLI run without a token) nothing is checked or recorded on GitHub. */
  github?: GitHubClient;
  /** owner/repo: whose environments these are. */
  repository: string;
  /** The database provider (tests inject one); default: from the options. */
  database?: DatabaseProvider;
  /** isolation: ec2: the EC2 and SSM clients and the timing (tests point them at moto, and shorten it). */
  machines?: MachinesOptions & MachineTiming;
  /** The fewest milliseconds between two edits of the live PR comment (default 5 s; tests shorten it). */
  commentIntervalMs?: number;
}

export type FeatureEnvStatus = 'up' | 'updated' | 'down' | 'reaped' | 'skipped' | 'checked';

export interface FeatureEnvResult {
  status: FeatureEnvStatus;
  reason: string;
  number?: number;
  namespace: string;
  url: string;
  deploymentId: string;
  expiresAt: string;
  /** Seconds from the start of the run until the environment was ready ('' when not an up). */
  readySeconds: string;
  summary: string;
  /** Why the step fails (a rollout that failed), when it does. */
  failure?: string;
  /** isolation: ec2: the environment's instance. */
  instanceId?: string;
  /** The pull request's head commit (what up deploys). */
  headSha?: string;
  /** up: the images built or reused for the environment (deploy-k8s's `builds`). */
  builds?: readonly BuiltImage[];
  /** For reap: what was removed and what was kept, and why. */
  removed?: Array<{ namespace: string; number?: number; why: string }>;
  kept?: Array<{ namespace: string; number?: number; why: string }>;
  /** For reap: the recent new environments' time from the event to ready (seconds). */
  readyStats?: { count: number; p50: number; p90: number; fromPool: number };
  /** For reap: the environments put to sleep (sleep-after), and why. */
  slept?: Array<{ namespace: string; number?: number; why: string }>;
}

/** The action's outputs (FEATURE_ENV_OUTPUTS) of a run: the same for the action and `c2c feature-env`. */
export function featureEnvOutputs(r: FeatureEnvResult): Record<string, string> {
  return {
    namespace: r.namespace,
    url: r.url,
    status: r.status,
    'deployment-id': r.deploymentId,
    'expires-at': r.expiresAt,
    'ready-seconds': r.readySeconds,
    'head-sha': r.headSha ?? '',
    'instance-id': r.instanceId ?? '',
    ...buildOutputs(r.builds ?? []),
  };
}

export function emptyResult(status: FeatureEnvStatus, reason: string): FeatureEnvResult {
  return {
    status,
    reason,
    namespace: '',
    url: '',
    deploymentId: '',
    expiresAt: '',
    readySeconds: '',
    summary: '',
  };
}

export type { Logger };
