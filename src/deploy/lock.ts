import os from 'node:os';
import { C2CError, cancellableSleep, errorMessage, formatDuration } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/index.js';

/**
 * The deploy lock: one Lease (coordination.k8s.io/v1) per target namespace, `commit-to-cloud-deploy`,
 * held while a run writes and watches there. Two runs on one namespace (two workflow runs, the action
 * and `c2c` from a laptop) take turns instead of applying over each other.
 *
 * - Taking it is a compare-and-swap: a create when there is no Lease (409: someone was quicker, read
 *   again), else a merge patch that names the resourceVersion just read (409: read again). It is
 *   taken when the Lease is free (no holder), expired (renewTime + leaseDurationSeconds is past), or
 *   already this holder's (a re-run of the same attempt after a crash).
 * - Held, it is renewed every third of its duration; a holder that dies (a runner killed) stops
 *   renewing and the Lease expires, so a dead run blocks the next for at most leaseDurationSeconds.
 * - Waiting ends at `lock-timeout` with an error naming the holder, before anything was changed.
 * - Released at the end (success, failure, cancel): the holder is cleared, again only on the version
 *   this run holds; a Lease another run has taken meanwhile is left alone.
 *
 * The expiry is judged by this machine's clock against the renewTime the holder wrote: runners'
 * clocks are NTP-synchronised; a skew of seconds only shortens or lengthens the wait for a dead one.
 */
export const LOCK_NAME = 'commit-to-cloud-deploy';
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
export const LOCK_FIELD_MANAGER = 'commit-to-cloud-lock';
/** On the Lease, for people: what the holder is deploying. */
export const LOCK_DETAIL = 'commit-to-cloud.dev/lock-detail';

export interface LockOptions {
  /** Who holds it: the run's URL (attempt included), or host and process for the CLI. */
  holder: string;
  /** For people reading the Lease: the commit, the actor. */
  detail?: string;
  /** How long to wait for another holder. */
  timeoutMs: number;
  /** The Lease's leaseDurationSeconds: a dead holder's lock frees itself after this. */
  leaseSeconds?: number;
  /** Between two looks at a held Lease. */
  pollMs?: number;
  logger: Logger;
  now?: () => number;
  /** Stops the wait (CancelledError): a cancelled run does not wait for the lock. */
  signal?: AbortSignal;
}

/** The lock's holder outside GitHub Actions: this machine and process. */
export function processHolder(): string {
  return `${os.hostname()} pid ${process.pid}`;
}

/** The Lease's note for people: which commit, by whom. */
export function lockDetail(audit: { commit?: string; actor?: string } | undefined): string | undefined {
  if (!audit?.commit && !audit?.actor) return undefined;
  return [audit.commit ? `commit ${audit.commit.slice(0, 12)}` : '', audit.actor ? `by ${audit.actor}` : '']
    .filter(Boolean)
    .join(' ');
}

export class LockTimeoutError extends C2CError {
  override name = 'LockTimeoutError';
  constructor(
    readonly namespace: string,
    readonly holder: string,
    waitedMs: number,
    detail?: string,
  ) {
    super(
      `Namespace '${namespace}' is being deployed by ${holder}${detail ? ` (${detail})` : ''}: waited ${formatDuration(waitedMs)} ('lock-timeout') for its deploy lock (Lease ${LOCK_NAME}), nothing was changed. Run again when it is done, or raise 'lock-timeout'.`,
    );
  }
}

const micro = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
const specOf = (l: KubeObject) => (l.spec ?? {}) as LeaseSpec;

/** Free, expired at `now`, or this holder's own. */
export function takeable(lease: KubeObject, holder: string, now: number): boolean {
  const s = specOf(lease);
  if (!s.holderIdentity || s.holderIdentity === holder) return true;
  const renewed = Date.parse(s.renewTime ?? s.acquireTime ?? '');
  if (Number.isNaN(renewed)) return true;
  return renewed + (s.leaseDurationSeconds ?? 0) * 1000 < now;
}

export class DeployLock {
  private readonly held = new Map<string, KubeObject>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private readonly leaseSeconds: number;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly o: LockOptions,
  ) {
    this.leaseSeconds = o.leaseSeconds ?? 60;
    this.now = o.now ?? Date.now;
  }

  /** The namespaces whose lock this run holds. */
  get namespaces(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Takes the namespace's lock, waiting up to `timeoutMs` for another holder; LockTimeoutError after.
   * False when the namespace does not exist (yet): there is nothing to lock in it.
   */
  async acquire(namespace: string): Promise<boolean> {
    if (this.held.has(namespace)) return true;
    const { holder, logger } = this.o;
    const start = this.now();
    let said = '';
    for (;;) {
      const live = await this.client.get({ ...LEASE, namespace, name: LOCK_NAME });
      const t = this.now();
      if (!live) {
        let made: KubeObject | undefined;
        try {
          made = await this.client.create(this.lease(namespace, t), { fieldManager: LOCK_FIELD_MANAGER });
        } catch (e) {
          if (e instanceof KubeApiError && e.status === 404) return false; // no such namespace
          throw e;
        }
        if (made) return this.took(namespace, made, 'taken');
        continue; // another run created it first: read it
      }
      if (takeable(live, holder, t)) {
        const prev = specOf(live).holderIdentity;
        try {
          const got = await this.client.patch(
            { ...LEASE, namespace, name: LOCK_NAME },
            {
              metadata: {
                resourceVersion: live.metadata.resourceVersion,
                annotations: { [LOCK_DETAIL]: this.o.detail ?? null },
              },
              spec: {
                holderIdentity: holder,
                leaseDurationSeconds: this.leaseSeconds,
                acquireTime: micro(t),
                renewTime: micro(t),
                leaseTransitions: (specOf(live).leaseTransitions ?? 0) + (prev && prev !== holder ? 1 : 0),
              },
            },
            'merge',
            { fieldManager: LOCK_FIELD_MANAGER },
          );
          return this.took(
            namespace,
            got,
            prev && prev !== holder ? `taken over from ${prev}, whose lease had expired` : 'taken',
          );
        } catch (e) {
          if (e instanceof KubeApiError && e.status === 409) continue; // changed meanwhile: read again
          throw e;
        }
      }
      const other = String(specOf(live).holderIdentity);
      const detail = (live.metadata.annotations ?? {})[LOCK_DETAIL];
      if (t - start >= this.o.timeoutMs) throw new LockTimeoutError(namespace, other, t - start, detail);
      if (said !== other) {
        said = other;
        logger.info(
          `Namespace ${namespace} is being deployed by ${other}${detail ? ` (${detail})` : ''}: waiting for its deploy lock, up to ${formatDuration(this.o.timeoutMs)} ('lock-timeout')`,
        );
      }
      await cancellableSleep(
        Math.max(10, Math.min(this.o.pollMs ?? 2_000, start + this.o.timeoutMs - t)),
        this.o.signal,
        `while waiting for the deploy lock of namespace ${namespace} (held by ${other}); nothing was changed`,
      );
    }
  }

  /** Clears this run's holder on every Lease it holds; one it lost meanwhile is left alone. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
    for (const [namespace, lease] of this.held) {
      try {
        await this.write(namespace, lease, { holderIdentity: null, renewTime: null, acquireTime: null });
        this.o.logger.debug(`deploy lock of ${namespace} released`);
      } catch (e) {
        this.o.logger.warning(
          `The deploy lock of namespace ${namespace} could not be released (${errorMessage(e)}): it frees itself ${this.leaseSeconds}s after its last renewal`,
        );
      }
    }
    this.held.clear();
  }

  private took(namespace: string, lease: KubeObject, how: string): true {
    this.held.set(namespace, lease);
    this.o.logger.info(
      `Deploy lock of namespace ${namespace} ${how} (Lease ${LOCK_NAME}, holder ${this.o.holder})`,
    );
    this.timer ??= setInterval(
      () => {
        this.renewing = this.renewAll();
      },
      Math.max(100, (this.leaseSeconds * 1000) / 3),
    );
    this.timer.unref();
    return true;
  }

  private async renewAll(): Promise<void> {
    for (const [namespace, lease] of this.held) {
      try {
        await this.write(namespace, lease, { renewTime: micro(this.now()) });
      } catch (e) {
        this.o.logger.warning(
          `The deploy lock of namespace ${namespace} could not be renewed: ${errorMessage(e)}`,
        );
      }
    }
  }

  /** A merge patch of the spec on the version this run holds; after a 409, once more if still its own. */
  private async write(namespace: string, lease: KubeObject, spec: Record<string, unknown>): Promise<void> {
    const ref = { ...LEASE, namespace, name: LOCK_NAME };
    let base = lease;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const got = await this.client.patch(
          ref,
          { metadata: { resourceVersion: base.metadata.resourceVersion }, spec },
          'merge',
          { fieldManager: LOCK_FIELD_MANAGER },
        );
        this.held.set(namespace, got);
        return;
      } catch (e) {
        if (!(e instanceof KubeApiError) || e.status !== 409) throw e;
        const live = await this.client.get(ref);
        if (!live || specOf(live).holderIdentity !== this.o.holder) {
          this.held.delete(namespace);
          throw new C2CError(
            `it is no longer this run's (now held by ${live ? String(specOf(live).holderIdentity ?? 'nobody') : 'nobody: deleted'})`,
          );
        }
        base = live;
      }
    }
    throw new C2CError('the Lease kept changing');
  }

  private lease(namespace: string, t: number): KubeObject {
    return {
      ...LEASE,
      metadata: {
        name: LOCK_NAME,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' },
        ...(this.o.detail ? { annotations: { [LOCK_DETAIL]: this.o.detail } } : {}),
      },
      spec: {
        holderIdentity: this.o.holder,
        leaseDurationSeconds: this.leaseSeconds,
        acquireTime: micro(t),
        renewTime: micro(t),
        leaseTransitions: 0,
      },
    };
  }
}
