import { isIP } from 'node:net';
import {
  C2CError,
  InputError,
  errorMessage,
  parseList,
  shortDuration,
  codeSpan,
  escapeMarkdown,
} from '../core/index.js';
import type { KubeObject, ObjectRef } from '../kube/index.js';
import { environments, FIELD_MANAGER, type Scope } from './claims.js';
import { COMMENT_MARKER } from './comment.js';
import type { FeatureEnvContext } from './context.js';
import { PREFIX } from './state.js';

/**
 * The fences of an environment's namespace (spares too), so that environments can share a cluster:
 * - a NetworkPolicy that admits ingress to the namespace's pods only from the namespace itself and
 *   from what `allow-from` names (namespaces by name, CIDRs); never from every namespace or address;
 * - a ResourceQuota with the hard limits of `resource-quota`, and a LimitRange with default requests
 *   (and limits) when the quota constrains CPU, memory or ephemeral storage, so pods that say nothing
 *   are not refused by the quota;
 * - `max-environments`: a new environment is refused, before anything is created, when the set has
 *   that many active ones already.
 * Applied before the services (the first pod runs fenced), on every up (a changed input updates
 * them); `none` removes only what carries this suite's label and field manager.
 */

export const FENCE_NAME = 'commit-to-cloud-fence';
/** The label of every fence this suite made; what lacks it is never changed or removed. */
export const FENCE_LABEL = `${PREFIX}fe-fence`;

export interface FenceOptions {
  /** isolate: the NetworkPolicy; none: no NetworkPolicy of ours. */
  networkPolicy: 'isolate' | 'none';
  /** Namespaces (by name) admitted besides the environment's own. */
  allowNamespaces: string[];
  /** CIDRs admitted (e.g. the VPC's, for load-balancer IP targets). */
  allowCidrs: string[];
  /** The ResourceQuota's hard limits; empty: no quota of ours. */
  quota: Record<string, string>;
  /** Active environments of the set at most; 0: no limit. */
  maxEnvironments: number;
}

export type FenceRaw = Record<
  'network-policy' | 'allow-from' | 'resource-quota' | 'max-environments',
  string
>;

// ---------------------------------------------------------------- inputs

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUOTA_EXAMPLE = "'pods=40,requests.cpu=4,requests.memory=8Gi'";

/** Validates the fence inputs (before anything happens): one InputError naming the input. */
export function parseFences(raw: FenceRaw): FenceOptions {
  const np = raw['network-policy'].trim() || 'isolate';
  if (np !== 'isolate' && np !== 'none')
    throw new InputError('network-policy', `'${np}' is not a known value`, "'isolate' or 'none'");
  const { namespaces, cidrs } = parseAllowFrom(raw['allow-from']);
  const quota = parseQuota(raw['resource-quota']);
  const max = raw['max-environments'].trim() || '0';
  if (!/^\d+$/.test(max) || Number(max) > 10_000)
    throw new InputError(
      'max-environments',
      `'${raw['max-environments']}' is not a count`,
      'a whole number from 0 (no limit) to 10000, e.g. 10',
    );
  return {
    networkPolicy: np,
    allowNamespaces: namespaces,
    allowCidrs: cidrs,
    quota,
    maxEnvironments: Number(max),
  };
}

function parseAllowFrom(value: string): { namespaces: string[]; cidrs: string[] } {
  const items = parseList(value);
  const expected =
    "namespace names and CIDRs, e.g. 'ingress-nginx, 10.0.0.0/16' (or 'none': the environment's own namespace only)";
  if (items.length === 1 && items[0] === 'none') return { namespaces: [], cidrs: [] };
  const namespaces = new Set<string>();
  const cidrs = new Set<string>();
  for (const item of items) {
    if (item.includes('/')) {
      cidrs.add(parseCidr(item, expected));
      continue;
    }
    if (item === '*' || item === 'all')
      throw new InputError(
        'allow-from',
        `'${item}' would admit every namespace of the cluster`,
        `the namespaces by name: ${expected}`,
      );
    if (isIP(item))
      throw new InputError(
        'allow-from',
        `'${item}' is an address without a prefix length`,
        `a CIDR such as '${item}/32'`,
      );
    if (!DNS_LABEL.test(item) || item.length > 63)
      throw new InputError('allow-from', `'${item}' is neither a namespace name nor a CIDR`, expected);
    namespaces.add(item);
  }
  return { namespaces: [...namespaces], cidrs: [...cidrs] };
}

/** A CIDR in its canonical form; /0 (every address) refused. */
function parseCidr(item: string, expected: string): string {
  const [addr = '', bits = '', ...more] = item.split('/');
  const family = isIP(addr);
  const width = family === 4 ? 32 : 128;
  if (!family || more.length || !/^\d{1,3}$/.test(bits) || Number(bits) > width)
    throw new InputError('allow-from', `'${item}' is not a CIDR`, expected);
  const prefix = Number(bits);
  if (prefix === 0)
    throw new InputError(
      'allow-from',
      `'${item}' admits every address (like 0.0.0.0/0 or ::/0), which is no fence`,
      "the networks that must reach the environments, e.g. the VPC's '10.0.0.0/16'",
    );
  const value = family === 4 ? ipv4(addr) : ipv6(addr);
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - prefix)) - 1n);
  const network = value & mask;
  if (network !== value) {
    const canonical = `${family === 4 ? formatIpv4(network) : formatIpv6(network)}/${prefix}`;
    throw new InputError('allow-from', `'${item}' has host bits set`, `the network address, '${canonical}'`);
  }
  return `${family === 4 ? formatIpv4(value) : formatIpv6(value)}/${prefix}`;
}

function ipv4(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}
function formatIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
}
function ipv6(a: string): bigint {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = ipv4(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}
function formatIpv6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // The longest run of zero groups (two or more) becomes '::'.
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > len && j - i > 1) [best, len] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + len).join(':')}`;
}

const COUNT_KEYS = new Set([
  'pods',
  'services',
  'services.loadbalancers',
  'services.nodeports',
  'configmaps',
  'secrets',
  'persistentvolumeclaims',
  'replicationcontrollers',
  'resourcequotas',
]);
const CPU_KEYS = new Set(['cpu', 'requests.cpu', 'limits.cpu']);
const BYTE_KEYS = new Set([
  'memory',
  'requests.memory',
  'limits.memory',
  'ephemeral-storage',
  'requests.ephemeral-storage',
  'limits.ephemeral-storage',
  'requests.storage',
]);
const STORAGE_CLASS_KEY =
  /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\.storageclass\.storage\.k8s\.io\/(requests\.storage|persistentvolumeclaims)$/;
const COUNT_OBJECT_KEY = /^count\/[a-z0-9]+(\.[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/;
const EXTENDED_KEY = /^requests\.[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

type QuantityKind = 'count' | 'cpu' | 'bytes';
function kindOfKey(key: string): QuantityKind | undefined {
  if (COUNT_KEYS.has(key) || COUNT_OBJECT_KEY.test(key) || EXTENDED_KEY.test(key)) return 'count';
  if (CPU_KEYS.has(key)) return 'cpu';
  if (BYTE_KEYS.has(key)) return 'bytes';
  if (STORAGE_CLASS_KEY.test(key)) return key.endsWith('/persistentvolumeclaims') ? 'count' : 'bytes';
  return undefined;
}

const BYTE_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A quantity as Kubernetes reads it, in base units (pods, cores, bytes); undefined when it is not
 * one of its kind. Counts are whole numbers; CPU is cores or millicores (4, 0.5, 500m); bytes take
 * the decimal or binary suffixes (8Gi, 512M), never `m` (500m of memory is half a byte).
 */
export function quantityValue(kind: QuantityKind, value: string): number | undefined {
  if (kind === 'count') return /^\d+$/.test(value) ? Number(value) : undefined;
  if (kind === 'cpu') {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(value);
    return m ? Number(m[1]) / (m[2] ? 1000 : 1) : undefined;
  }
  const m = /^(\d+(?:\.\d+)?)([kMGTPE]i?)?$/.exec(value);
  if (!m || m[2] === 'ki') return undefined;
  const factor = BYTE_SUFFIX[m[2] ?? ''];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

const KIND_EXPECTED: Record<QuantityKind, string> = {
  count: 'a whole number (pods=40)',
  cpu: 'cores or millicores (requests.cpu=4, requests.cpu=500m)',
  bytes: "bytes with a suffix such as Mi or Gi (requests.memory=8Gi; 'm' would mean thousandths of a byte)",
};

function parseQuota(value: string): Record<string, string> {
  const items = parseList(value);
  if (items.length === 0 || (items.length === 1 && items[0] === 'none')) return {};
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new InputError(
        'resource-quota',
        `'${item}' is not key=quantity`,
        `key=quantity pairs, e.g. ${QUOTA_EXAMPLE}`,
      );
    const key = item.slice(0, eq).trim();
    const quantity = item.slice(eq + 1).trim();
    const kind = kindOfKey(key);
    if (!kind)
      throw new InputError(
        'resource-quota',
        `'${key}' is not a ResourceQuota key`,
        `keys such as pods, services, requests.cpu, requests.memory, limits.cpu, limits.memory, requests.storage, count/deployments.apps, e.g. ${QUOTA_EXAMPLE}`,
      );
    if (key in out)
      throw new InputError(
        'resource-quota',
        `'${key}' is given twice`,
        `each key once, e.g. ${QUOTA_EXAMPLE}`,
      );
    const n = quantityValue(kind, quantity);
    if (n === undefined)
      throw new InputError(
        'resource-quota',
        `'${key}=${quantity}': '${quantity}' is not a quantity for ${key}`,
        `${KIND_EXPECTED[kind]}, e.g. ${QUOTA_EXAMPLE}`,
      );
    if (n <= 0)
      throw new InputError(
        'resource-quota',
        `'${key}=${quantity}' would refuse every ${key.replace(/^(requests|limits)\./, '')} of the environment`,
        `a positive quantity, e.g. ${QUOTA_EXAMPLE}`,
      );
    out[key] = quantity;
  }
  return out;
}

// ---------------------------------------------------------------- objects

const LABELS = { 'app.kubernetes.io/managed-by': 'commit-to-cloud', [FENCE_LABEL]: 'true' };

/** The NetworkPolicy: ingress from the namespace itself and what allow-from names, nothing else. */
export function networkPolicyFor(namespace: string, f: FenceOptions): KubeObject | undefined {
  if (f.networkPolicy === 'none') return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: FENCE_NAME, namespace, labels: LABELS },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          // Each peer on its own: any of them is admitted (peers in one entry would all have to match).
          from: [
            { podSelector: {} },
            ...f.allowNamespaces.map((name) => ({
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
            })),
            ...f.allowCidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ],
        },
      ],
    },
  };
}

export function resourceQuotaFor(namespace: string, f: FenceOptions): KubeObject | undefined {
  if (!Object.keys(f.quota).length) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: FENCE_NAME, namespace, labels: LABELS },
    spec: { hard: { ...f.quota } },
  };
}

/** What a container that says nothing gets, per resource: request, limit (never above the quota). */
const DEFAULTS: Record<'cpu' | 'memory' | 'ephemeral-storage', { request: string; limit: string }> = {
  cpu: { request: '100m', limit: '500m' },
  memory: { request: '128Mi', limit: '512Mi' },
  'ephemeral-storage': { request: '256Mi', limit: '1Gi' },
};

/**
 * The LimitRange, when the quota constrains requests or limits of CPU, memory or ephemeral storage:
 * a quota on requests.X refuses pods that do not say X, so the LimitRange says it for them (a
 * default request; and a default limit when limits.X is constrained). Defaults never exceed the quota.
 */
export function limitRangeFor(namespace: string, f: FenceOptions): KubeObject | undefined {
  const defaultRequest: Record<string, string> = {};
  const dflt: Record<string, string> = {};
  for (const [r, d] of Object.entries(DEFAULTS)) {
    const kind: QuantityKind = r === 'cpu' ? 'cpu' : 'bytes';
    const hardRequest = f.quota[`requests.${r}`] ?? f.quota[r];
    const hardLimit = f.quota[`limits.${r}`];
    if (!hardRequest && !hardLimit) continue;
    const min = (...qs: Array<string | undefined>) =>
      qs
        .filter((q): q is string => !!q)
        .reduce((a, b) => (quantityValue(kind, b)! < quantityValue(kind, a)! ? b : a));
    const limit = hardLimit ? min(d.limit, hardLimit) : undefined;
    defaultRequest[r] = min(d.request, hardRequest, limit);
    if (limit) dflt[r] = limit;
  }
  if (!Object.keys(defaultRequest).length) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: FENCE_NAME, namespace, labels: LABELS },
    spec: {
      limits: [{ type: 'Container', defaultRequest, ...(Object.keys(dflt).length ? { default: dflt } : {}) }],
    },
  };
}

// ---------------------------------------------------------------- engine

/**
 * Puts the fences of `f` in the namespace (server-side apply, this suite's field manager), and
 * removes those of ours that `f` no longer asks for. Before the services are deployed.
 */
export async function applyFences(s: Scope, namespace: string, f: FenceOptions): Promise<void> {
  // The LimitRange before the quota (a pod made in between would lack the requests the quota wants);
  // what goes away after what stays is written (the quota first).
  const fences: Array<[Pick<ObjectRef, 'apiVersion' | 'kind'>, KubeObject | undefined]> = [
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }, networkPolicyFor(namespace, f)],
    [{ apiVersion: 'v1', kind: 'LimitRange' }, limitRangeFor(namespace, f)],
    [{ apiVersion: 'v1', kind: 'ResourceQuota' }, resourceQuotaFor(namespace, f)],
  ];
  const done: string[] = [];
  for (const [type, obj] of fences) {
    if (!obj) continue;
    await s.client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
    done.push(`${type.kind} ${describeFence(obj)}`);
  }
  for (const [type, obj] of fences.reverse()) {
    if (obj) continue;
    if (await removeOurs(s, { ...type, namespace, name: FENCE_NAME })) done.push(`${type.kind} removed`);
  }
  if (done.length) s.logger.info(`fences of ${namespace}: ${done.join('; ')}`);
}

function describeFence(obj: KubeObject): string {
  const spec = obj.spec as Record<string, unknown>;
  if (obj.kind === 'NetworkPolicy') {
    const from = (spec.ingress as Array<{ from: Array<Record<string, unknown>> }>)[0]!.from;
    return `ingress from ${from
      .map((p) =>
        p.podSelector
          ? 'its own namespace'
          : p.ipBlock
            ? (p.ipBlock as { cidr: string }).cidr
            : `namespace ${(p.namespaceSelector as { matchLabels: Record<string, string> }).matchLabels['kubernetes.io/metadata.name']}`,
      )
      .join(', ')}`;
  }
  if (obj.kind === 'ResourceQuota')
    return Object.entries(spec.hard as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  const l = (spec.limits as Array<Record<string, Record<string, string>>>)[0]!;
  const fmt = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  return `default requests ${fmt(l.defaultRequest)}${l.default ? `, default limits ${fmt(l.default)}` : ''}`;
}

/** Deletes the fence only when this suite made it (our label and field manager); true when deleted. */
async function removeOurs(s: Scope, ref: ObjectRef): Promise<boolean> {
  const live = await s.client.get(ref);
  if (!live) return false;
  const ours =
    live.metadata.labels?.[FENCE_LABEL] === 'true' &&
    (live.metadata.managedFields ?? []).some((m) => m.manager === FIELD_MANAGER);
  if (!ours) {
    s.logger.info(`${ref.kind} ${ref.namespace}/${ref.name} is not this suite's: left as it is`);
    return false;
  }
  return s.client.delete(ref);
}

/**
 * `max-environments`: a new environment for #number is refused when the set has that many active
 * ones (an update of the pull request's own is always allowed). Reads only: nothing is created. The
 * refusal names the input, its value and the oldest environments, in the error and the PR comment.
 */
export async function admitEnvironment(
  s: Scope,
  ctx: Pick<FeatureEnvContext, 'github' | 'logger' | 'now'>,
  f: FenceOptions,
  number: number,
): Promise<void> {
  if (!f.maxEnvironments) return;
  // The set's active environments (environments() reads only this set's namespaces).
  const active = (await environments(s, { state: 'active' })).filter((e) => !e.terminating);
  if (active.some((e) => e.number === number)) return;
  if (active.length < f.maxEnvironments) return;
  const now = (ctx.now ?? Date.now)();
  const oldest = active
    .sort(
      (a, b) =>
        (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.namespace.localeCompare(b.namespace),
    )
    .slice(0, 5)
    .map((e) => ({
      namespace: e.namespace,
      number: e.number,
      age: e.createdAt ? shortDuration((now - Date.parse(e.createdAt)) / 1000) : 'age unknown',
    }));
  const what = `Input 'max-environments' is ${f.maxEnvironments}, and ${active.length} environment${active.length === 1 ? ' is' : 's are'} active for ${s.repository} (namespace prefix '${s.prefix}')`;
  const remedy = `remove one (unlabel or close its pull request; reap removes expired ones) or raise 'max-environments'`;
  const list = oldest.map(
    (o) => `${o.namespace} (${o.number ? `#${o.number}` : 'no pull request'}, ${o.age})`,
  );
  const message = `${what}: no environment is made for #${number}, nothing was created. The oldest: ${list.join(', ')}. To get one, ${remedy}.`;
  if (ctx.github) {
    const body = [
      `### Feature environment for #${number}: refused, the limit is reached`,
      '',
      `${escapeMarkdown(what)}: nothing was made for this pull request. The oldest:`,
      '',
      '| Namespace | Pull request | Age |',
      '| --- | --- | --- |',
      ...oldest.map((o) => `| ${codeSpan(o.namespace)} | ${o.number ? `#${o.number}` : '-'} | ${o.age} |`),
      '',
      `To get one, ${escapeMarkdown(remedy)}, then add the label again.`,
    ].join('\n');
    try {
      await ctx.github.upsertComment(number, COMMENT_MARKER, body);
    } catch (e) {
      ctx.logger.warning(`could not write the pull request comment: ${errorMessage(e)}`);
    }
  }
  throw new C2CError(message);
}

/**
 * After a failed rollout: when the quota of `resource-quota` refused pods (the ReplicaSet's
 * FailedCreate events say `exceeded quota: commit-to-cloud-fence`), a sentence naming the input and
 * what was refused, for the failure and the PR comment; else ''.
 */
export async function quotaRefusal(s: Scope, namespace: string, f: FenceOptions): Promise<string> {
  if (!Object.keys(f.quota).length) return '';
  const events = await s.client.list('v1', 'Event', { namespace }).catch(() => undefined);
  const at = (e: KubeObject) => String(e.lastTimestamp ?? e.eventTime ?? '');
  const refused = (events?.items ?? [])
    .filter((e) => String(e.message ?? '').includes(`exceeded quota: ${FENCE_NAME}`))
    .sort((a, b) => at(a).localeCompare(at(b)))
    .map((e) => String(e.message));
  const last = refused.at(-1);
  if (!last) return '';
  const detail = last.slice(last.indexOf('exceeded quota:'));
  const quota = Object.entries(f.quota)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `Input 'resource-quota' (${quota}) refused pods of the environment (${detail}): raise that limit, ask less of the services, or set it to none.`;
}
