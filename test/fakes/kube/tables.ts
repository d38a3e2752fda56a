import type { ResourceDef } from './resources.js';
import type { Obj } from './store.js';

/**
 * Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for when no -o is given.
 * Columns for the kinds tests look at; Name and Age for the rest.
 */
function age(ts: string | undefined): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

type Col = [name: string, type: string, cell: (o: Obj) => unknown];

const COLUMNS: Record<string, Col[]> = {
  Deployment: [
    ['Ready', 'string', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`],
    ['Up-to-date', 'integer', (o) => o.status?.updatedReplicas ?? 0],
    ['Available', 'integer', (o) => o.status?.availableReplicas ?? 0],
  ],
  ReplicaSet: [
    ['Desired', 'integer', (o) => o.spec?.replicas ?? 0],
    ['Current', 'integer', (o) => o.status?.replicas ?? 0],
    ['Ready', 'integer', (o) => o.status?.readyReplicas ?? 0],
  ],
  Pod: [
    [
      'Ready',
      'string',
      (o) =>
        `${(o.status?.containerStatuses ?? []).filter((c: Obj) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
    ],
    [
      'Status',
      'string',
      (o) =>
        (o.status?.containerStatuses ?? [])
          .map((c: Obj) => c.state?.waiting?.reason ?? c.state?.terminated?.reason)
          .find(Boolean) ??
        o.status?.phase ??
        'Pending',
    ],
    [
      'Restarts',
      'integer',
      (o) => (o.status?.containerStatuses ?? []).reduce((n: number, c: Obj) => n + (c.restartCount ?? 0), 0),
    ],
  ],
  Job: [
    [
      'Status',
      'string',
      (o) =>
        ((o.status?.conditions ?? []) as Obj[]).find(
          (c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'),
        )?.type ?? 'Running',
    ],
    ['Completions', 'string', (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`],
  ],
};

export function toTable(res: ResourceDef, items: Obj[], resourceVersion: string, includeObject: string): Obj {
  if (res.kind === 'Event') {
    const cols: Col[] = [
      ['Last Seen', 'string', (o) => age(o.lastTimestamp ?? o.metadata.creationTimestamp)],
      ['Type', 'string', (o) => o.type],
      ['Reason', 'string', (o) => o.reason],
      [
        'Object',
        'string',
        (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
      ],
      ['Message', 'string', (o) => o.message],
    ];
    return table(cols, items, resourceVersion, includeObject);
  }
  const cols: Col[] = [
    ['Name', 'string', (o) => o.metadata.name],
    ...(COLUMNS[res.kind] ?? []),
    ['Age', 'string', (o) => age(o.metadata.creationTimestamp)],
  ];
  return table(cols, items, resourceVersion, includeObject);
}

function table(cols: Col[], items: Obj[], resourceVersion: string, includeObject: string): Obj {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: cols.map(([name, type]) => ({
      name,
      type,
      format: name === 'Name' ? 'name' : '',
      description: name,
      priority: 0,
    })),
    rows: items.map((o) => ({
      cells: cols.map(([, , f]) => f(o) ?? ''),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
