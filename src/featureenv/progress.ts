import { isPreDeploy, isWatchedKind, type DeployProgress, type PreparedSet } from '../deploy/index.js';
import { renderDeployingComment, renderFailedComment, type ServiceState, type UpStep } from './comment.js';
import type { FeatureEnvContext } from './context.js';
import { LiveComment } from './live-comment.js';

/**
 * What the PR comment shows while an up runs: the step, and each service of the set (its workloads:
 * Deployments, StatefulSets, DaemonSets) waiting, rolling out, ready or failed, from the deploy's
 * progress; the comment edited as they change (LiveComment's throttle), and its last body (ready, or
 * failed with which service and why) written at once. Without a GitHub layer it only keeps the states.
 */
export class UpProgress {
  readonly services: ServiceState[];
  private readonly byKey = new Map<string, ServiceState>();
  private step: UpStep = 'preparing';
  private namespace: string | undefined;
  private readonly comment: LiveComment | undefined;
  private readonly now: () => number;

  constructor(
    private readonly ctx: FeatureEnvContext,
    private readonly number: number,
    private readonly sha: string,
    prepared: PreparedSet,
    private readonly startedAt: number,
  ) {
    this.now = ctx.now ?? Date.now;
    const workloads = prepared.manifests
      .map((m) => m.object)
      .filter((o) => isWatchedKind(o.kind) && !isPreDeploy(o));
    const names = workloads.map((o) => String(o.metadata.name));
    this.services = workloads.map((o) => {
      const name = String(o.metadata.name);
      // The kind only where it says something: not a Deployment, or a name two kinds share.
      const shared = names.filter((n) => n === name).length > 1;
      const s: ServiceState = {
        name: o.kind === 'Deployment' && !shared ? name : `${name} (${o.kind})`,
        state: 'waiting',
      };
      this.byKey.set(`${o.kind}/${name}`, s);
      return s;
    });
    this.comment = ctx.github
      ? new LiveComment(ctx.github, number, ctx.logger, {
          ...(ctx.commentIntervalMs !== undefined ? { intervalMs: ctx.commentIntervalMs } : {}),
          now: this.now,
        })
      : undefined;
  }

  /** The namespace is known (claimed): shown from now on. */
  at(namespace: string): void {
    this.namespace = namespace;
    this.show();
  }

  /** A step of up's own (waking the environment). */
  stepTo(step: UpStep): void {
    this.step = step;
    this.show();
  }

  /** The deploy's progress (DeployContext.onProgress). */
  readonly onProgress = (p: DeployProgress): void => {
    if ('step' in p) this.step = p.step;
    else {
      const s = this.byKey.get(`${p.workload.kind}/${p.workload.name}`);
      if (!s) return;
      s.state = p.state;
      s.note = p.message;
    }
    this.show();
  };

  show(): void {
    this.comment?.set(
      renderDeployingComment({
        number: this.number,
        sha: this.sha,
        ...(this.namespace ? { namespace: this.namespace } : {}),
        step: this.step,
        services: this.services,
        startedAt: this.startedAt,
        ...(this.ctx.gh.runUrl ? { runUrl: this.ctx.gh.runUrl } : {}),
      }),
    );
  }

  /** The last body: ready (rendered by the caller). */
  async finish(body: string): Promise<void> {
    await this.comment?.finish(body);
  }

  /** The up failed: the comment says which service and why. */
  async fail(failure: string): Promise<void> {
    await this.comment?.finish(
      renderFailedComment({
        number: this.number,
        sha: this.sha,
        ...(this.namespace ? { namespace: this.namespace } : {}),
        services: this.services,
        failure,
        now: this.now(),
        ...(this.ctx.gh.runUrl ? { runUrl: this.ctx.gh.runUrl } : {}),
      }),
    );
  }
}
