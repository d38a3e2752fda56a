/**
 * The few Kubernetes object shapes the engine reads. Objects stay plain JSON (what the API server
 * sends): the engine only needs metadata, a handful of status fields and the pod template.
 */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // spec, status, data, ...: read with care, they are whatever the server sent.
  [key: string]: unknown;
}

/** A plain JSON value is a Kubernetes object: apiVersion and kind strings, and a metadata mapping. */
export function isKubeObject(v: unknown): v is KubeObject {
  return (
    typeof v === 'object' &&
    v !== null &&
    'apiVersion' in v &&
    typeof v.apiVersion === 'string' &&
    'kind' in v &&
    typeof v.kind === 'string' &&
    'metadata' in v &&
    typeof v.metadata === 'object' &&
    v.metadata !== null &&
    !Array.isArray(v.metadata)
  );
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** A metav1.Status, as the API server returns for errors. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { type?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  metadata?: Record<string, unknown>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  /** For ERROR events: a Status. */
  object: T;
}

/** Where an object lives, without its content. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What discovery says about a kind. */
export interface ResourceInfo {
  apiVersion: string;
  group: string;
  version: string;
  kind: string;
  /** The plural resource name used in paths (deployments). */
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

/** A core/v1 Event, as far as the engine reads it. */
export interface KubeEvent extends KubeObject {
  involvedObject: {
    kind?: string;
    name?: string;
    namespace?: string;
    uid?: string;
    apiVersion?: string;
    fieldPath?: string;
  };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

export function objectKey(o: {
  kind: string;
  metadata?: ObjectMeta;
  namespace?: string;
  name?: string;
}): string {
  const ns = o.metadata?.namespace ?? o.namespace;
  const name = o.metadata?.name ?? o.name;
  return `${o.kind}/${ns ? `${ns}/` : ''}${name}`;
}

export function refOf(o: KubeObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name ?? '',
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

/** Splits 'apps/v1' into group 'apps', version 'v1'; 'v1' into '' and 'v1'. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
