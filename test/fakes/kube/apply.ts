import { sameJson, now, type Obj } from './store.js';

/**
 * Server-side apply and patches, with a simple but honest ownership model:
 * - An object's fields are a set of paths (FieldsV1 form: f:<field>, k:{<merge key>} for items of
 *   keyed lists such as containers, env, ports, volumes; atomic lists and scalars are leaves).
 * - managedFields holds one entry per (manager, operation). An apply by manager M with config C:
 *   fields C sets that another manager owns with a *different* value are conflicts (409) unless
 *   force, which moves their ownership to M; fields M owned before and C no longer sets are
 *   removed when nobody else owns them; C is merged in (maps recursively, keyed lists by key).
 * - Non-apply writes (PUT, merge/strategic/JSON patches) give the fields they change to the writer
 *   as an 'Update' entry and take them from every other manager, as the real server does.
 */

/** Lists merged by a key field (the strategic-merge keys of the core types), keyed by field name. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};

function mergeKeyOf(field: string, items: unknown[]): string[] | undefined {
  if (field === 'ports') {
    const first = items.find((x) => x && typeof x === 'object') as Obj | undefined;
    if (first && 'containerPort' in first) return ['containerPort', 'protocol'];
    if (first && 'port' in first) return ['port', 'protocol'];
    return undefined;
  }
  const k = MERGE_KEYS[field];
  return k ? [k] : undefined;
}

function itemKey(item: Obj, keys: string[]): string {
  const k: Obj = {};
  for (const key of keys) {
    if (key === 'protocol') k.protocol = item.protocol ?? 'TCP';
    else k[key] = item[key];
  }
  return `k:${JSON.stringify(k)}`;
}

const SKIP_TOP = new Set(['apiVersion', 'kind', 'status']);
const SKIP_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'deletionTimestamp',
  'selfLink',
]);

type Path = string[];
const SEP = '\u0000';

/**
 * Fields that are maps of arbitrary keys (not structs): like the real server, an applier owns the
 * map itself too (a '.' entry), so when it stops setting the map, the map goes, not only its keys.
 */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'limits',
  'requests',
  'matchLabels',
  'nodeSelector',
  'data',
  'stringData',
  'binaryData',
]);

/** The set of field paths an object (or applied configuration) sets. */
export function fieldSet(obj: Obj): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, path: Path, field: string) => {
    if (Array.isArray(v)) {
      const keys = mergeKeyOf(field, v);
      if (keys && v.every((x) => x && typeof x === 'object')) {
        if (!v.length) out.add([...path].join(SEP));
        for (const item of v as Obj[]) {
          const p = [...path, itemKey(item, keys)];
          out.add([...p, '.'].join(SEP));
          walkMap(item, p);
        }
        return;
      }
      out.add(path.join(SEP));
      return;
    }
    if (v && typeof v === 'object' && Object.keys(v).length) {
      if (MAP_FIELDS.has(field)) out.add([...path, '.'].join(SEP));
      walkMap(v as Obj, path);
      return;
    }
    out.add(path.join(SEP));
  };
  const walkMap = (m: Obj, path: Path) => {
    for (const [k, v] of Object.entries(m)) {
      if (v === undefined) continue;
      walk(v, [...path, `f:${k}`], k);
    }
  };
  for (const [k, v] of Object.entries(obj)) {
    if (SKIP_TOP.has(k) || v === undefined) continue;
    if (k === 'metadata') {
      for (const [mk, mv] of Object.entries((v ?? {}) as Obj))
        if (!SKIP_META.has(mk) && mv !== undefined) walk(mv, ['f:metadata', `f:${mk}`], mk);
      continue;
    }
    walk(v, [`f:${k}`], k);
  }
  return out;
}

export function toFieldsV1(set: Set<string>): Obj {
  const root: Obj = {};
  for (const p of [...set].sort()) {
    let node = root;
    for (const seg of p.split(SEP)) node = node[seg] ??= {};
  }
  return root;
}

export function fromFieldsV1(tree: Obj | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Obj, path: Path) => {
    const keys = Object.keys(node);
    if (!keys.length) {
      if (path.length) out.add(path.join(SEP));
      return;
    }
    for (const k of keys) walk(node[k] as Obj, [...path, k]);
  };
  walk(tree ?? {}, []);
  return out;
}

/** The value at a field path (undefined when absent). */
function valueAt(obj: Obj, path: string): unknown {
  let v: unknown = obj;
  for (const seg of path.split(SEP)) {
    if (seg === '.') return v;
    if (v === undefined || v === null) return undefined;
    if (seg.startsWith('f:')) v = (v as Obj)[seg.slice(2)];
    else if (seg.startsWith('k:')) {
      const want = JSON.parse(seg.slice(2)) as Obj;
      v = Array.isArray(v)
        ? v.find((it: Obj) =>
            Object.entries(want).every(([k, x]) =>
              k === 'protocol' ? (it.protocol ?? 'TCP') === x : it[k] === x,
            ),
          )
        : undefined;
    } else return undefined;
  }
  return v;
}

/** Removes the field at a path (a keyed-list item or a whole map when the path ends in '.'). */
function removeAt(obj: Obj, path: string): void {
  const segs = path.split(SEP);
  if (segs.length >= 2 && segs[segs.length - 1] === '.' && segs[segs.length - 2]!.startsWith('f:')) {
    removeAt(obj, segs.slice(0, -1).join(SEP));
    return;
  }
  let parent: unknown = obj;
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    const next = segs[i + 1]!;
    if (next === '.' && seg.startsWith('k:') && Array.isArray(parent)) {
      const want = JSON.parse(seg.slice(2)) as Obj;
      const idx = parent.findIndex((it: Obj) =>
        Object.entries(want).every(([k, x]) =>
          k === 'protocol' ? (it.protocol ?? 'TCP') === x : it[k] === x,
        ),
      );
      if (idx >= 0) parent.splice(idx, 1);
      return;
    }
    parent = valueAt(parent as Obj, seg);
    if (parent === undefined || parent === null) return;
  }
  const last = segs[segs.length - 1]!;
  if (last.startsWith('f:') && parent && typeof parent === 'object' && !Array.isArray(parent))
    delete (parent as Obj)[last.slice(2)];
}

function pruneEmptyKeyedLists(v: unknown): void {
  if (Array.isArray(v)) v.forEach(pruneEmptyKeyedLists);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v as Obj)) {
      if (Array.isArray(x) && x.length === 0 && MERGE_KEYS[k]) delete (v as Obj)[k];
      else pruneEmptyKeyedLists(x);
    }
}

/** Merges an applied configuration into a live object: maps recursively, keyed lists by key, the rest replaced. */
export function mergeApplied(live: unknown, applied: unknown, field = ''): unknown {
  if (Array.isArray(applied)) {
    const keys = mergeKeyOf(field, applied);
    if (!keys || !Array.isArray(live) || !applied.every((x) => x && typeof x === 'object'))
      return structuredClone(applied);
    const out = (live as Obj[]).map((x) => structuredClone(x));
    for (const item of applied as Obj[]) {
      const k = itemKey(item, keys);
      const i = out.findIndex((x) => itemKey(x, keys) === k);
      if (i >= 0) out[i] = mergeApplied(out[i], item) as Obj;
      else out.push(structuredClone(item));
    }
    return out;
  }
  if (applied && typeof applied === 'object') {
    if (!live || typeof live !== 'object' || Array.isArray(live)) return structuredClone(applied);
    const out: Obj = { ...(live as Obj) };
    for (const [k, v] of Object.entries(applied as Obj)) {
      if (v === null) delete out[k];
      else out[k] = mergeApplied(out[k], v, k);
    }
    return out;
  }
  return applied;
}

export interface Conflict {
  manager: string;
  path: string;
}

export function describePath(path: string): string {
  return path
    .split(SEP)
    .filter((s) => s !== '.')
    .map((s) =>
      s.startsWith('f:')
        ? `.${s.slice(2)}`
        : s.startsWith('k:')
          ? `[${Object.entries(JSON.parse(s.slice(2)) as Obj)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(',')}]`
          : s,
    )
    .join('');
}

type Entry = {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
  subresource?: string;
};

function entryId(e: { manager: string; operation: string }): string {
  return `${e.manager}\u0001${e.operation}`;
}

export interface ApplyResult {
  object: Obj;
  conflicts: Conflict[];
}

/**
 * Server-side apply of `config` by `manager` onto `live` (undefined: create). Returns the merged
 * object with managedFields updated, or the conflicts when there are some and force is not set.
 */
export function serverSideApply(
  live: Obj | undefined,
  config: Obj,
  manager: string,
  force: boolean,
  apiVersion: string,
): ApplyResult {
  const applied = fieldSet(config);
  const entries: Entry[] = structuredClone((live?.metadata?.managedFields ?? []) as Entry[]);
  const me = { manager, operation: 'Apply' as const };
  const others = entries.filter((e) => entryId(e) !== entryId(me));
  const conflicts: Conflict[] = [];
  if (live) {
    for (const e of others) {
      const owned = fromFieldsV1(e.fieldsV1);
      for (const p of applied) {
        if (!owned.has(p) || p.endsWith('.')) continue;
        if (!sameJson(valueAt(live, p), valueAt(config, p))) conflicts.push({ manager: e.manager, path: p });
      }
    }
  }
  if (conflicts.length && !force) return { object: live!, conflicts };

  const base = structuredClone(live ?? { metadata: {} });
  // Fields this manager set before and no longer sets, which nobody else owns, are removed.
  const mine = entries.find((e) => entryId(e) === entryId(me));
  if (mine) {
    const otherOwned = new Set(others.flatMap((e) => [...fromFieldsV1(e.fieldsV1)]));
    const dropped = [...fromFieldsV1(mine.fieldsV1)].filter((p) => !applied.has(p) && !otherOwned.has(p));
    // A whole list item or map ('.') goes only when no other manager owns a field inside it.
    const whole = dropped.filter((p) => p.endsWith(`${SEP}.`));
    const inside = (p: string) => p.slice(0, -1);
    const removable = whole.filter((p) => ![...otherOwned].some((o) => o.startsWith(inside(p))));
    // Whole items and maps first (outermost first: their keys are still there to find them), then
    // the remaining fields, deepest first.
    for (const p of removable.sort((a, b) => a.length - b.length)) removeAt(base, p);
    for (const p of dropped.filter((x) => !whole.includes(x)).sort((a, b) => b.length - a.length))
      removeAt(base, p);
    // A keyed list left empty is omitted, as the server's JSON (omitempty) shows it.
    if (removable.length) pruneEmptyKeyedLists(base);
  }
  const { metadata: cfgMeta, ...cfgRest } = config;
  const merged = mergeApplied(base, cfgRest) as Obj;
  const metaCfg: Obj = { ...(cfgMeta ?? {}) };
  for (const k of SKIP_META) delete metaCfg[k];
  merged.metadata = mergeApplied(base.metadata ?? {}, metaCfg) as Obj;

  // Ownership: forced conflicts move to this manager; this manager's set is the applied set.
  const conflictPaths = new Set(conflicts.map((c) => `${c.manager}${SEP}${c.path}`));
  const nextEntries: Entry[] = [];
  for (const e of entries) {
    if (entryId(e) === entryId(me)) continue;
    const owned = [...fromFieldsV1(e.fieldsV1)].filter((p) => !conflictPaths.has(`${e.manager}${SEP}${p}`));
    if (owned.length) nextEntries.push({ ...e, fieldsV1: toFieldsV1(new Set(owned)) });
  }
  const myEntry: Entry = {
    manager,
    operation: 'Apply',
    apiVersion,
    time: now(),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(applied),
  };
  const idx = entries.findIndex((e) => entryId(e) === entryId(me));
  if (idx >= 0 && idx <= nextEntries.length) nextEntries.splice(idx, 0, myEntry);
  else nextEntries.push(myEntry);
  merged.metadata.managedFields = nextEntries;
  return { object: merged, conflicts };
}

/** Ownership after a non-apply write by `manager`: the changed fields become its own. */
export function recordUpdate(
  before: Obj | undefined,
  after: Obj,
  manager: string,
  apiVersion: string,
  subresource?: string,
): void {
  const entries: Entry[] = structuredClone((before?.metadata?.managedFields ?? []) as Entry[]);
  const afterSet = fieldSet(after);
  // A list item or a map ('.') changes when it appears; its fields change on their own.
  const changed = new Set(
    [...afterSet].filter((p) =>
      p.endsWith(`${SEP}.`)
        ? !before || valueAt(before, p) === undefined
        : !before || !sameJson(valueAt(before, p), valueAt(after, p)),
    ),
  );
  const me = { manager, operation: 'Update' as const };
  const next: Entry[] = [];
  for (const e of entries) {
    if (entryId(e) === entryId(me) && (e.subresource ?? '') === (subresource ?? '')) continue;
    // Others lose what this write changed, and what no longer exists.
    const owned = [...fromFieldsV1(e.fieldsV1)].filter(
      (p) => !changed.has(p) && valueAt(after, p) !== undefined,
    );
    if (owned.length) next.push({ ...e, fieldsV1: toFieldsV1(new Set(owned)) });
  }
  const prevMine = entries.find(
    (e) => entryId(e) === entryId(me) && (e.subresource ?? '') === (subresource ?? ''),
  );
  const mine = new Set(
    [...(prevMine ? fromFieldsV1(prevMine.fieldsV1) : []), ...changed].filter((p) => afterSet.has(p)),
  );
  if (mine.size)
    next.push({
      manager,
      operation: 'Update',
      apiVersion,
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(mine),
      ...(subresource ? { subresource } : {}),
    });
  after.metadata.managedFields = next;
}

// ------------------------------------------------------------------ patches

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Obj =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch, as far as the fake needs: keyed lists merged, $patch replace/delete, directives dropped. */
export function strategicMergePatch(target: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const keys = mergeKeyOf(field, patch);
    if (!keys || !Array.isArray(target))
      return structuredClone(patch).filter(
        (x: unknown) => !(x && typeof x === 'object' && (x as Obj).$patch),
      );
    const out = (target as Obj[]).map((x) => structuredClone(x));
    for (const item of patch as Obj[]) {
      if (item.$patch === 'replace') continue;
      const k = itemKey(item, keys);
      const i = out.findIndex((x) => itemKey(x, keys) === k);
      if (item.$patch === 'delete') {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = strategicMergePatch(out[i], item) as Obj;
      else out.push(strategicMergePatch(undefined, item) as Obj);
    }
    return out;
  }
  if (!patch || typeof patch !== 'object') return patch;
  const p = patch as Obj;
  if (p.$patch === 'replace') {
    const { $patch: _drop, ...rest } = p;
    return strategicMergePatch(undefined, rest);
  }
  if (p.$patch === 'delete') return undefined;
  const out: Obj =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(p)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else {
      const r = strategicMergePatch(out[k], v, k);
      if (r === undefined) delete out[k];
      else out[k] = r;
    }
  }
  return out;
}

/** RFC 6902 JSON patch. Throws an Error with a message for an invalid operation. */
export function jsonPatch(doc: Obj, ops: Obj[]): Obj {
  let out: unknown = structuredClone(doc);
  const parse = (ptr: string) =>
    ptr === ''
      ? []
      : ptr
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const get = (root: unknown, segs: string[]) =>
    segs.reduce<unknown>((v, s) => (v && typeof v === 'object' ? (v as Obj)[s] : undefined), root);
  const set = (segs: string[], value: unknown, mode: 'add' | 'replace') => {
    if (!segs.length) {
      out = value;
      return;
    }
    const parent = get(out, segs.slice(0, -1));
    const last = segs[segs.length - 1]!;
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (mode === 'add') parent.splice(i, 0, value);
      else if (i < parent.length) parent[i] = value;
      else throw new Error(`replace operation does not apply: doc is missing key: /${segs.join('/')}`);
    } else if (parent && typeof parent === 'object') {
      if (mode === 'replace' && !(last in (parent as Obj)))
        throw new Error(`replace operation does not apply: doc is missing key: /${segs.join('/')}`);
      (parent as Obj)[last] = value;
    } else throw new Error(`doc is missing path: /${segs.join('/')}`);
  };
  const remove = (segs: string[]) => {
    const parent = get(out, segs.slice(0, -1));
    const last = segs[segs.length - 1]!;
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else if (parent && typeof parent === 'object' && last in (parent as Obj)) delete (parent as Obj)[last];
    else throw new Error(`remove operation does not apply: doc is missing path: /${segs.join('/')}`);
  };
  for (const op of ops) {
    const path = parse(String(op.path ?? ''));
    switch (op.op) {
      case 'add':
        set(path, structuredClone(op.value), 'add');
        break;
      case 'replace':
        set(path, structuredClone(op.value), 'replace');
        break;
      case 'remove':
        remove(path);
        break;
      case 'test':
        if (!sameJson(get(out, path), op.value)) throw new Error(`testing value /${path.join('/')} failed`);
        break;
      case 'move':
      case 'copy': {
        const from = parse(String(op.from ?? ''));
        const v = structuredClone(get(out, from));
        if (op.op === 'move') remove(from);
        set(path, v, 'add');
        break;
      }
      default:
        throw new Error(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return out as Obj;
}
