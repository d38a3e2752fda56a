import { randomUUID } from 'node:crypto';
import type { ResourceDef } from './resources.js';
import { apiVersionOf } from './resources.js';

/**
 * The fake's etcd: objects per resource, one global resourceVersion counter, a bounded history of
 * changes for watches that resume from a resourceVersion (older ones get 410 Gone), and the open
 * watchers. Selectors (label and field) live here too.
 */
// Stored objects are plain JSON; the fake reads them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  type: EventType;
  res: ResourceDef;
  obj: Obj;
}

export interface Watcher {
  res: ResourceDef;
  namespace?: string;
  matches: (o: Obj) => boolean;
  send: (type: EventType, o: Obj) => void;
}

export const resKey = (r: ResourceDef) => `${r.group}/${r.resource}`;
const objKey = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class Store {
  private rv = 100;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private history: Change[] = [];
  /** The oldest resourceVersion a watch may resume from. */
  private oldestRv = 100;
  readonly watchers = new Set<Watcher>();
  /** Called after every committed change (the controllers listen). */
  onChange: (c: Change) => void = () => {};

  constructor(private readonly historySize = 2000) {}

  currentRv(): number {
    return this.rv;
  }

  nextRv(): number {
    return ++this.rv;
  }

  get(res: ResourceDef, ns: string | undefined, name: string): Obj | undefined {
    const o = this.objects.get(resKey(res))?.get(objKey(res.namespaced ? ns : undefined, name));
    return o ? structuredClone(o) : undefined;
  }

  list(res: ResourceDef, ns?: string, filter: (o: Obj) => boolean = () => true): Obj[] {
    const m = this.objects.get(resKey(res));
    if (!m) return [];
    return [...m.values()]
      .filter((o) => (!ns || !res.namespaced || o.metadata.namespace === ns) && filter(o))
      .sort((a, b) =>
        `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
        ),
      )
      .map((o) => structuredClone(o));
  }

  /** Stores a new object: uid, creationTimestamp, resourceVersion, generation filled in. */
  create(res: ResourceDef, obj: Obj): Obj {
    const o = structuredClone(obj);
    o.apiVersion = apiVersionOf(res);
    o.kind = res.kind;
    o.metadata ??= {};
    if (!res.namespaced) delete o.metadata.namespace;
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= now();
    if (o.spec !== undefined) o.metadata.generation = 1;
    return this.commit('ADDED', res, o);
  }

  /** Replaces a stored object; generation is bumped when spec changed. */
  update(res: ResourceDef, obj: Obj): Obj {
    const prev = this.objects.get(resKey(res))?.get(objKey(obj.metadata.namespace, obj.metadata.name));
    if (!prev) throw new Error(`update of missing ${res.resource} ${obj.metadata.name}`);
    const o = structuredClone(obj);
    o.apiVersion = apiVersionOf(res);
    o.kind = res.kind;
    o.metadata.uid = prev.metadata.uid;
    o.metadata.creationTimestamp = prev.metadata.creationTimestamp;
    if (o.spec !== undefined) {
      const changed = JSON.stringify(canonical(prev.spec)) !== JSON.stringify(canonical(o.spec));
      o.metadata.generation = (prev.metadata.generation ?? 1) + (changed ? 1 : 0);
    }
    // Nothing changed: no new resourceVersion, no watch event (as a real server does).
    const strip = (x: Obj) => ({
      ...x,
      // Managed-field timestamps alone are no change either.
      metadata: {
        ...x.metadata,
        resourceVersion: undefined,
        managedFields: (x.metadata.managedFields ?? []).map((e: Obj) => ({ ...e, time: undefined })),
      },
    });
    if (JSON.stringify(canonical(strip(prev))) === JSON.stringify(canonical(strip(o))))
      return structuredClone(prev);
    return this.commit('MODIFIED', res, o);
  }

  delete(res: ResourceDef, ns: string | undefined, name: string): Obj | undefined {
    const m = this.objects.get(resKey(res));
    const k = objKey(res.namespaced ? ns : undefined, name);
    const prev = m?.get(k);
    if (!prev) return undefined;
    const o = structuredClone(prev);
    return this.commit('DELETED', res, o);
  }

  private commit(type: EventType, res: ResourceDef, o: Obj): Obj {
    const rv = this.nextRv();
    o.metadata.resourceVersion = String(rv);
    let m = this.objects.get(resKey(res));
    if (!m) this.objects.set(resKey(res), (m = new Map()));
    const k = objKey(res.namespaced ? o.metadata.namespace : undefined, o.metadata.name);
    if (type === 'DELETED') m.delete(k);
    else m.set(k, o);
    const change: Change = { rv, type, res, obj: o };
    this.history.push(change);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.oldestRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) {
      if (resKey(w.res) !== resKey(res)) continue;
      if (w.namespace && res.namespaced && o.metadata.namespace !== w.namespace) continue;
      if (!w.matches(o)) continue;
      w.send(type, structuredClone(o));
    }
    this.onChange(change);
    return structuredClone(o);
  }

  /**
   * Changes after a resourceVersion, for a watch resuming there; undefined when that version is
   * older than the kept history (the watch must get 410 Gone).
   */
  since(res: ResourceDef, rv: number): Change[] | undefined {
    if (rv < this.oldestRv) return undefined;
    return this.history
      .filter((c) => c.rv > rv && resKey(c.res) === resKey(res))
      .map((c) => ({ ...c, obj: structuredClone(c.obj) }));
  }

  /** Forgets all history: every watch resuming from an earlier resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.rv;
  }

  /** Every stored object (for the controllers' sweeps). */
  all(res: ResourceDef): Obj[] {
    return this.list(res);
  }
}

export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) if ((v as Obj)[k] !== undefined) out[k] = canonical((v as Obj)[k]);
    return out;
  }
  return v;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

// ------------------------------------------------------------------ selectors

type LabelReq = (labels: Record<string, string>) => boolean;

/** Parses a label selector (=, ==, !=, in, notin, exists, !exists); throws on bad syntax. */
export function parseLabelSelector(sel: string | null | undefined): (o: Obj) => boolean {
  if (!sel) return () => true;
  const reqs: LabelReq[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, key, op, vals] = m as unknown as [string, string, string, string];
      const set = new Set(vals.split(',').map((s) => s.trim()));
      reqs.push(
        op === 'in'
          ? (l) => l[key] !== undefined && set.has(l[key])
          : (l) => l[key] === undefined || !set.has(l[key]),
      );
    } else if ((m = p.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      const [, key, op, val] = m as unknown as [string, string, string, string];
      reqs.push(op === '!=' ? (l) => l[key] !== val : (l) => l[key] === val);
    } else if ((m = p.match(/^!([\w./-]+)$/))) {
      const key = m[1]!;
      reqs.push((l) => l[key] === undefined);
    } else if ((m = p.match(/^([\w./-]+)$/))) {
      const key = m[1]!;
      reqs.push((l) => l[key] !== undefined);
    } else throw new Error(`unable to parse requirement: ${p}`);
  }
  return (o) => reqs.every((r) => r(o.metadata?.labels ?? {}));
}

/** Parses a field selector (path=value, path==value, path!=value); fields are dotted paths. */
export function parseFieldSelector(sel: string | null | undefined): (o: Obj) => boolean {
  if (!sel) return () => true;
  const reqs = sel
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((p) => {
      const m = p.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
      if (!m) throw new Error(`invalid field selector: ${p}`);
      const [, path, op, val] = m as unknown as [string, string, string, string];
      return (o: Obj) => {
        let v: unknown = o;
        for (const seg of path.split('.')) v = v && typeof v === 'object' ? (v as Obj)[seg] : undefined;
        const s = v === undefined || v === null ? '' : String(v);
        return op === '!=' ? s !== val : s === val;
      };
    });
  return (o) => reqs.every((r) => r(o));
}

/** Selector object (matchLabels / matchExpressions) as a predicate over labels. */
export function selectorMatches(sel: Obj | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries((sel.matchLabels ?? {}) as Record<string, string>))
    if (l[k] !== v) return false;
  for (const e of (sel.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    const has = l[e.key] !== undefined;
    const inVals = has && (e.values ?? []).includes(l[e.key]!);
    if (e.operator === 'In' && !inVals) return false;
    if (e.operator === 'NotIn' && inVals) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
