import { randomBytes } from 'node:crypto';
import { C2CError } from '../core/index.js';
import type { EngineContext } from '../deploy/index.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/index.js';
import { grantAccess } from './access.js';
import {
  A_LABEL,
  A_PREFIX,
  A_REPOSITORY,
  INDEX,
  baseLabels,
  environmentOf,
  indexOf,
  isOwn,
  selector,
  setKey,
  setShort,
  type Environment,
  type SetIdentity,
  type SetIndex,
} from './state.js';

/**
 * Which namespace holds which pull request's environment, and which spares form the warm pool,
 * exclusively, under concurrent runs.
 *
 * The index lives in an annotation of the set's control namespace (`<prefix><short>-ctl`), and every
 * change to it is a compare-and-swap on that namespace's resourceVersion: ten concurrent runs for one
 * pull request end with one environment, a spare is taken by one pull request only, and the pool
 * never holds more slots than `warm-pool`. A spare is claimed by moving it from the pool to the
 * claims in one write, then relabelling it.
 */
export const FIELD_MANAGER = 'commit-to-cloud-feature-env';

/**
 * A claim or a pool slot whose namespace does not exist (yet) is an up or a refill in flight for
 * this long (they create the namespace within seconds of the write); after it, a run that died.
 */
export const PENDING_MS = 10 * 60_000;

/** One set of environments at work: its identity, its cluster client, and the engine's logger and clock. */
export interface Scope extends SetIdentity, Pick<EngineContext, 'logger' | 'now'> {
  client: KubeClient;
}

const short = (s: Scope) => `${s.prefix}${setShort(s)}`;
export const controlName = (s: Scope) => `${short(s)}-ctl`;
export const prNamespace = (s: Scope, number: number) => `${short(s)}-pr-${number}`;
export const spareName = (s: Scope) => `${short(s)}-spare-${randomBytes(3).toString('hex')}`;
/** The scope's time (tests set it): one reading for the index, the pool and reap alike. */
export const clock = (s: Scope) => (s.now ?? Date.now)();

/** The annotations that say whose set a namespace belongs to, for people reading it. */
export function setAnnotations(s: SetIdentity): Record<string, string> {
  return { [A_REPOSITORY]: s.repository, [A_PREFIX]: s.prefix, [A_LABEL]: s.label };
}

/** A namespace of this set's name that is not this set's: never used, never changed. */
export function notOwnError(s: SetIdentity, name: string): C2CError {
  return new C2CError(
    `Namespace ${name} exists but does not carry the mark of this set of environments (label commit-to-cloud.dev/fe-set=${setKey(s)}: repository ${s.repository}, namespace-prefix '${s.prefix}', label '${s.label}'): it is someone else's, so it is neither used nor changed. Choose another 'namespace-prefix', or remove that namespace if nobody needs it.`,
  );
}

async function controlNamespace(s: Scope, create = true): Promise<KubeObject | undefined> {
  const name = controlName(s);
  const ref = { apiVersion: 'v1', kind: 'Namespace', name };
  let live = await s.client.get(ref);
  let made: KubeObject | undefined;
  if (!live && !create) return undefined;
  if (!live) {
    made = await s.client.create(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: baseLabels(s, 'control'), annotations: setAnnotations(s) },
      },
      { fieldManager: FIELD_MANAGER },
    );
    live = made ?? (await s.client.get(ref));
  }
  if (!live) throw new C2CError(`The control namespace ${name} could not be created or read`);
  if (!isOwn(live, s)) throw notOwnError(s, name);
  // The run that made it binds the engine's identity in it (its access inside: access.ts).
  return made ? grantAccess(s, made) : live;
}

/**
 * Changes the index with a compare-and-swap; `change` sees the current index (a copy) and returns
 * the new one, or undefined for no change. Whatever `change` reads from the cluster, it reads after
 * the index it decides on: a later run's write makes this one read again. `create: false`: when the
 * set has no control namespace yet, nothing is changed (and none is made).
 */
export async function updateIndex(
  s: Scope,
  change: (index: SetIndex) => Promise<SetIndex | undefined> | SetIndex | undefined,
  o: { create?: boolean } = {},
): Promise<SetIndex> {
  for (let attempt = 1; attempt <= 40; attempt++) {
    const ctl = await controlNamespace(s, o.create ?? true);
    // No control namespace and none to be made (a reap's clean-up): no index, nothing to change.
    if (!ctl) return indexOf(undefined);
    const index = indexOf(ctl);
    const next = await change(structuredClone(index));
    if (!next) return index;
    try {
      await s.client.patch(
        { apiVersion: 'v1', kind: 'Namespace', name: String(ctl.metadata.name) },
        {
          metadata: {
            resourceVersion: ctl.metadata.resourceVersion,
            annotations: { [INDEX]: JSON.stringify(next) },
          },
        },
        'merge',
        { fieldManager: FIELD_MANAGER },
      );
      return next;
    } catch (e) {
      if (!(e instanceof KubeApiError) || e.status !== 409) throw e;
      // Another run changed the index meanwhile: read it again.
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 60 * Math.min(attempt, 10)));
    }
  }
  throw new C2CError(
    `The index of the environments of ${s.repository} (${controlName(s)}) kept changing under 40 attempts: too many runs at once`,
  );
}

/** The set's namespaces, as environments (one list). */
export async function environments(
  s: Scope,
  o: { state?: Environment['state']; number?: number } = {},
): Promise<Environment[]> {
  const list = await s.client.list('v1', 'Namespace', { labelSelector: selector(s, o) });
  return list.items.filter((ns) => isOwn(ns, s)).map(environmentOf);
}

export interface Claimed {
  namespace: string;
  /** The environment existed already (an update), or another run for the pull request is making it. */
  existing: boolean;
  /** It was a spare of the warm pool. */
  fromPool: boolean;
  /**
   * Another run claimed the namespace for this pull request a moment ago and is making it: this run
   * waits for it (awaitNamespace) and never makes it itself, so a claim given back or released
   * meanwhile (that run failed, a down) cannot leave a second environment behind.
   */
  pending: boolean;
}

/**
 * The pull request's namespace: the one the index names when it still exists (or is still being
 * made by a run that claimed it moments ago); else the oldest ready spare of the pool when
 * `usePool`; else a new namespace `<prefix><short>-pr-<number>`. Exclusive (see above).
 */
export async function claimNamespace(
  s: Scope,
  number: number,
  usePool: boolean,
  o: { maxEnvironments?: number } = {},
): Promise<Claimed> {
  let result: Claimed | undefined;
  const key = String(number);
  await updateIndex(s, async (index) => {
    const now = clock(s);
    const current = index.claims[key];
    if (current) {
      const ns = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: current.namespace });
      const usable = ns ? isOwn(ns, s) && !environmentOf(ns).terminating : now - current.at < PENDING_MS;
      if (usable) {
        result = { namespace: current.namespace, existing: true, fromPool: false, pending: !ns };
        return undefined;
      }
    }
    // max-environments, exact: up checked it before (with the oldest named); here the claims
    // themselves are counted, so two new pull requests at the limit cannot both get in.
    const held = Object.keys(index.claims).filter((k) => k !== key).length;
    if (o.maxEnvironments && held >= o.maxEnvironments)
      throw new C2CError(
        `Input 'max-environments' is ${o.maxEnvironments}, and ${held} environments of this set are claimed (another pull request took the last place a moment ago): no environment is made for #${number}, nothing was created. Remove one (unlabel or close its pull request) or raise 'max-environments'.`,
      );
    const taken = claimedNamespaces(index);
    const ready = usePool
      ? new Set(
          (await environments(s, { state: 'spare' }))
            .filter((e) => !e.terminating && !taken.has(e.namespace))
            .map((e) => e.namespace),
        )
      : new Set<string>();
    const spare = Object.entries(index.pool)
      .filter(([name]) => ready.has(name))
      .sort(([a, x], [b, y]) => x.at - y.at || a.localeCompare(b))[0]?.[0];
    let target = spare ?? prNamespace(s, number);
    if (!spare) {
      // The usual name may be terminating (a down a moment ago), or someone else's: a name of its own.
      const old = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: target });
      if (old && (!isOwn(old, s) || environmentOf(old).terminating || taken.has(target)))
        target = `${target}-${randomBytes(2).toString('hex')}`;
    } else delete index.pool[spare];
    result = { namespace: target, existing: false, fromPool: !!spare, pending: false };
    index.claims[key] = { namespace: target, at: now };
    return index;
  });
  return result!;
}

/** How long a run waits for the namespace another run claimed and is making (it does so within seconds). */
export const AWAIT_CLAIMED_MS = 60_000;

/**
 * Waits until the namespace another run claimed for the pull request exists, while the claim still
 * names it; an error when that run gave it back (or a down released it), or after `waitMs`.
 */
export async function awaitNamespace(
  s: Scope,
  number: number,
  namespace: string,
  waitMs = AWAIT_CLAIMED_MS,
): Promise<void> {
  const until = Date.now() + waitMs;
  for (;;) {
    if (await ownNamespace(s, namespace)) return;
    const claim = (await readIndex(s)).claims[String(number)];
    if (claim?.namespace !== namespace)
      throw new C2CError(
        `Another run for #${number} claimed namespace ${namespace} and then gave it up (it failed, or the environment was taken down meanwhile): nothing was made. Run again if the environment is still wanted.`,
      );
    if (Date.now() >= until)
      throw new C2CError(
        `Another run for #${number} claimed namespace ${namespace} ${Math.round((clock(s) - claim.at) / 1000)}s ago and has not made it within ${Math.round(waitMs / 1000)}s: nothing was made. If that run died, a reap frees its claim after ${PENDING_MS / 60_000} minutes; run again then.`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Drops a pull request's claim, only while it still names `namespace` when one is given, and (with
 * `madeBefore`) only when it was made before then.
 */
export async function releaseClaim(
  s: Scope,
  number: number,
  namespace?: string,
  o: { madeBefore?: number } = {},
): Promise<boolean> {
  let released = false;
  await updateIndex(s, (index) => {
    const c = index.claims[String(number)];
    if (!c || (namespace && c.namespace !== namespace)) return undefined;
    // A claim made after the caller began (an up that came after a down that found nothing) stays.
    if (o.madeBefore !== undefined && c.at > o.madeBefore) return undefined;
    delete index.claims[String(number)];
    released = true;
    return index;
  });
  return released;
}

/** The namespaces the index's claims name. */
export function claimedNamespaces(index: SetIndex): Set<string> {
  return new Set(Object.values(index.claims).map((c) => c.namespace));
}

/**
 * Deletes a namespace of this set that no claim names and that is not going already (one an up made
 * after its claim was released: a down ran between the claim and the making). `index`: as just read.
 * True when it deleted it.
 */
export async function deleteUnclaimed(s: Scope, namespace: string, index?: SetIndex): Promise<boolean> {
  const ns = await ownNamespace(s, namespace);
  if (!ns || environmentOf(ns).terminating) return false;
  if (claimedNamespaces(index ?? (await readIndex(s))).has(namespace)) return false;
  return s.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
}

/** The index as it is now (no write; the control namespace is not created). */
export async function readIndex(s: Scope): Promise<SetIndex> {
  const ctl = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: controlName(s) });
  if (ctl && !isOwn(ctl, s)) throw notOwnError(s, controlName(s));
  return indexOf(ctl);
}

/** The namespace's current object when it is this set's; undefined when it is gone; an error when it is someone else's. */
export async function ownNamespace(s: Scope, name: string): Promise<KubeObject | undefined> {
  const ns = await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name });
  if (ns && !isOwn(ns, s)) throw notOwnError(s, name);
  return ns;
}
