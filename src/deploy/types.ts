import type { Logger, RetryOptions } from '../core/index.js';
import type { KubeConnection } from '../kube/index.js';
import type { AuditInfo } from './annotations.js';
import type { ImageChange } from './images/index.js';
import type { WorkloadRow } from './summary.js';

/** Records the deploy on GitHub (a Deployment with statuses); the action passes the GitHub layer. */
export interface DeploymentRecorder {
  /** Fails, before anything is built or changed, when the deployment could not be recorded. */
  check(): Promise<void>;
  start(): Promise<{ id: number | string; url?: string }>;
  finish(id: number | string, state: 'success' | 'failure', description: string): Promise<void>;
}

/**
 * What every engine run is given, whoever calls it (an action, the CLI, a test): the one context of
 * the deploy, feature-env and plan engines. Each extends it with the few things only it needs
 * (DeployContext, FeatureEnvContext, PlanContext).
 */
export interface EngineContext {
  logger: Logger;
  /** A connection to use instead of resolving one from the options (tests, the CLI's --server). */
  connection?: KubeConnection;
  /** Retry policy of the Kubernetes requests (tests shorten it). */
  kubeRetry?: RetryOptions;
  now?: () => number;
  /** Revision and source for the OCI labels of a built image (and the audit annotations). */
  revision?: string;
  source?: string;
  /** Who deployed what: the annotations written on what is applied. */
  audit?: AuditInfo;
}

/** A deploy's own: where it is recorded on GitHub, and the time stamped on a built image. */
export interface DeployContext extends EngineContext {
  recorder?: DeploymentRecorder;
  /**
   * Take the deploy lock of every target namespace (a Lease) while writing and watching, as this
   * holder (the run's URL; host and process for the CLI). None: no lock (feature environments, whose
   * runs are serialised by their claims).
   */
  lock?: { holder: string; detail?: string; leaseSeconds?: number; pollMs?: number };
  /**
   * The run is cancelled when it fires (SIGINT, SIGTERM): before the first write nothing is changed;
   * an apply in progress is finished, then undone; a rollout being watched is rolled back (its wait
   * shortened to CANCEL_WAIT_MS); the GitHub Deployment is marked failed and the lock released.
   */
  signal?: AbortSignal;
  /** Epoch seconds stamped on a built image (default: SOURCE_DATE_EPOCH, else the commit's time). */
  sourceDateEpoch?: number;
  /**
   * Told as the run goes, for a live status (the feature environment's pull request comment): the
   * step it is at, and each workload's rollout as it changes. Called synchronously, never awaited;
   * what it throws is ignored.
   */
  onProgress?: (p: DeployProgress) => void;
}

/** What the run does now (`step`), or how one workload's rollout stands (`workload`). */
export type DeployProgress =
  | { step: 'build' | 'pre-deploy' | 'apply' | 'watch' }
  | {
      workload: { kind: string; namespace?: string; name: string };
      state: 'rolling out' | 'ready' | 'failed' | 'unchanged';
      message: string;
    };

export type DeployResultKind = 'success' | 'failed' | 'rolled-back' | 'dry-run';

/** One image the deploy builds (build-context, or a service): what it is, and whether this run built it. */
export interface BuiltImage {
  /** The service's name (the context directory's, for build-context). */
  name: string;
  /** Set for a service of `services`. */
  service?: string;
  /** repository@digest; empty in a dry run for an image that is not built yet. */
  image: string;
  digest: string;
  /** Pushed by this run; false: found in the registry under its tag and used as it is. */
  built: boolean;
}

export interface DeployResult {
  result: DeployResultKind;
  /** The one image built or reused (build-context, or a single service); empty with several. */
  image: string;
  digest: string;
  /** Every image built or reused, each service's. */
  builds: BuiltImage[];
  applied: string[];
  /** What prune removed (or, in a dry run, would remove). */
  pruned?: string[];
  /** With a canary strategy: healthy (manual promote: it runs), promoted, aborted. */
  canary?: 'healthy' | 'promoted' | 'aborted';
  rolledBack: boolean;
  deploymentId: string;
  rows: WorkloadRow[];
  changes: ImageChange[];
  /** What a dry run would do, one line per object: "created|configured|unchanged kind/ns/name". */
  preflight: string[];
  summary: string;
  /** Why it failed, when it did. */
  failure?: string;
  requestCount: number;
}
