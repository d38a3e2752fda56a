/**
 * Small helpers over Kubernetes objects as plain JSON (what the YAML parser and the API server give).
 * The deploy engine never needs typed client models: it reads the few fields it cares about.
 */

export type JsonObject = Record<string, unknown>;

/** A value as a plain object, or undefined when it is not one. */
export function asObject(v: unknown): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Reads a nested field: get(obj, 'spec', 'template', 'spec'). */
export function get(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    const o = asObject(cur);
    if (!o) return undefined;
    cur = o[p];
  }
  return cur;
}

/** A nested mapping: asObjectAt(obj, 'spec', 'template'). */
export function asObjectAt(obj: unknown, ...path: string[]): JsonObject | undefined {
  return asObject(get(obj, ...path));
}

/** The metadata object, created when missing. */
export function metadataOf(obj: JsonObject): JsonObject {
  let m = asObject(obj.metadata);
  if (!m) {
    m = {};
    obj.metadata = m;
  }
  return m;
}

export function kindOf(obj: unknown): string {
  return asString(get(obj, 'kind')) ?? '';
}

export function nameOf(obj: unknown): string {
  return asString(get(obj, 'metadata', 'name')) ?? '';
}

export function namespaceOf(obj: unknown): string | undefined {
  const ns = asString(get(obj, 'metadata', 'namespace'));
  return ns ? ns : undefined;
}

/** The API group of an apiVersion: '' for v1, 'apps' for apps/v1. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** kind/namespace/name, or kind/name for objects without a namespace (the `applied` output format). */
export function objectKey(obj: unknown): string {
  const ns = namespaceOf(obj);
  return ns ? `${kindOf(obj)}/${ns}/${nameOf(obj)}` : `${kindOf(obj)}/${nameOf(obj)}`;
}

export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Every container of a pod spec (init, regular and ephemeral), each with the list it is in. */
export function containersOf(
  podSpec: JsonObject | undefined,
): Array<{ list: (typeof CONTAINER_LISTS)[number]; container: JsonObject }> {
  const out: Array<{ list: (typeof CONTAINER_LISTS)[number]; container: JsonObject }> = [];
  if (!podSpec) return out;
  for (const list of CONTAINER_LISTS) {
    for (const c of asArray(podSpec[list])) {
      const container = asObject(c);
      if (container) out.push({ list, container });
    }
  }
  return out;
}

/** JSON with object keys sorted: two objects that differ only in key order compare equal. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
