import { C2CError, isTransient } from '../core/index.js';
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

/**
 * 403: says which verb on which resource the credentials may not use. The verb is the server's
 * (a server-side apply of an object that does not exist yet is authorised as `create`, not `patch`).
 * A 403 that is not RBAC's (a quota, an admission webhook, Pod Security) says so instead of asking
 * for a permission.
 */
export class KubeForbiddenError extends KubeApiError {
  override name = 'KubeForbiddenError';
  /** The verb and resource RBAC denied, from the server's message, when it was RBAC. */
  readonly denied?: { verb: string; resource: string };
  constructor(status: number, verb: string, target: string, kubeStatus: KubeStatus | undefined) {
    const said = kubeStatus?.message ?? '';
    const m = /cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?/.exec(said);
    const denied = m ? { verb: m[1]!, resource: m[3] ? `${m[2]}.${m[3]}` : m[2]! } : undefined;
    super(
      status,
      verb,
      target,
      kubeStatus,
      denied || !said
        ? `Kubernetes RBAC: forbidden to ${denied?.verb ?? verb} ${target}${said ? ` (server said: ${said})` : ''}. Grant the deploying identity the '${denied?.verb ?? verb}' verb on ${denied?.resource ?? 'this resource'} (a Role/ClusterRole and binding)`
        : `Kubernetes refused to ${verb} ${target} (HTTP 403, not a missing permission): ${said}`,
    );
    if (denied) this.denied = denied;
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
