import { C2CError } from '../core/errors.js';
import { isTransient } from '../core/retry.js';
import type { KubeStatus } from './types.js';

/**
 * An error answer of the API server, with the Status it sent. The message says which verb on which
 * resource failed and why, in the server's words.
 */
export class KubeApiError extends C2CError {
  override name = 'KubeApiError';
  readonly retryAfterMs?: number;
  constructor(
    readonly status: number,
    readonly verb: string,
    /** 'deployments.apps "web" in namespace "prod"' and the like. */
    readonly target: string,
    readonly kubeStatus: KubeStatus | undefined,
    message?: string,
    retryAfterMs?: number,
  ) {
    super(
      message ??
        `Kubernetes API: ${verb} ${target} failed: HTTP ${status}${kubeStatus?.reason ? ` ${kubeStatus.reason}` : ''}${kubeStatus?.message ? `: ${kubeStatus.message}` : ''}`,
    );
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }

  get reason(): string | undefined {
    return this.kubeStatus?.reason;
  }

  /**
   * Whether another attempt may help: 429 and 5xx (not 501), except the 500s a server gives for an
   * object it cannot even type (`failed to create typed patch object`: a value of the wrong type in
   * the manifest, such as an unquoted `on` where a string belongs), which fail the same way again.
   */
  get transient(): boolean {
    if (this.status === 500 && PERMANENT_500.test(this.kubeStatus?.message ?? '')) return false;
    return isTransient({ status: this.status });
  }
}

const PERMANENT_500 = /failed to create typed (patch|live) object/;

/** 403: says which verb on which resource the credentials may not use. */
export class KubeForbiddenError extends KubeApiError {
  override name = 'KubeForbiddenError';
  constructor(status: number, verb: string, target: string, kubeStatus: KubeStatus | undefined) {
    super(
      status,
      verb,
      target,
      kubeStatus,
      `Kubernetes RBAC: forbidden to ${verb} ${target}${kubeStatus?.message ? ` (server said: ${kubeStatus.message})` : ''}. Grant the deploying identity the '${verb}' verb on this resource (a Role/ClusterRole and binding).`,
    );
  }
}

/** 409: a server-side apply conflict (another field manager owns a field) or an optimistic-lock conflict. */
export class KubeConflictError extends KubeApiError {
  override name = 'KubeConflictError';
  constructor(status: number, verb: string, target: string, kubeStatus: KubeStatus | undefined) {
    const causes = (kubeStatus?.details?.causes ?? [])
      .map((c) => `  - ${c.field ?? ''}${c.message ? `: ${c.message}` : ''}`)
      .join('\n');
    super(
      status,
      verb,
      target,
      kubeStatus,
      `Kubernetes: ${verb} ${target} conflicted: ${kubeStatus?.message ?? 'conflict'}${causes ? `\n${causes}` : ''}`,
    );
  }
}

/** The cluster does not serve a kind (no CRD, wrong apiVersion). */
export class KindNotServedError extends C2CError {
  override name = 'KindNotServedError';
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
    detail: string,
  ) {
    super(`The cluster does not serve kind '${kind}' in apiVersion '${apiVersion}': ${detail}.`);
  }
}
