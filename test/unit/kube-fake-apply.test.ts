import { describe, expect, it } from 'vitest';
import {
  fieldSet,
  jsonPatch,
  serverSideApply,
  strategicMergePatch,
  toFieldsV1,
  recordUpdate,
} from '../fakes/kube/apply.js';

/** The kube fake's server-side-apply ownership model: the rules the fidelity of apply rests on. */
const cm = (data: Record<string, string>, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'default', ...(labels ? { labels } : {}) },
  data,
});

describe('kube fake server-side apply', () => {
  it('field sets use f: and k: paths like FieldsV1', () => {
    const fs = toFieldsV1(
      fieldSet({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: { template: { spec: { containers: [{ name: 'a', image: 'i', args: ['x'] }] } } },
      }),
    );
    expect(fs).toEqual({
      'f:spec': {
        'f:template': {
          'f:spec': {
            'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:args': {} } },
          },
        },
      },
    });
  });

  it('a field the applier stops setting is removed, unless another manager owns it', () => {
    let o = serverSideApply(undefined, cm({ a: '1', b: '2' }), 'm1', false, 'v1').object;
    o = serverSideApply(o, cm({ b: '2', c: '3' }), 'm2', false, 'v1').object; // b shared, same value: no conflict
    const r = serverSideApply(o, cm({}), 'm1', false, 'v1');
    expect(r.conflicts).toEqual([]);
    expect(r.object.data).toEqual({ b: '2', c: '3' });
    expect(r.object.metadata.managedFields.map((e: { manager: string }) => e.manager)).toEqual(['m1', 'm2']);
  });

  it("a different value for another manager's field conflicts; force moves the field", () => {
    const o = serverSideApply(undefined, cm({ a: '1' }), 'm1', false, 'v1').object;
    const r = serverSideApply(o, cm({ a: '2' }), 'm2', false, 'v1');
    expect(r.conflicts).toEqual([{ manager: 'm1', path: 'f:data\u0000f:a' }]);
    const f = serverSideApply(o, cm({ a: '2' }), 'm2', true, 'v1');
    expect(f.object.data.a).toBe('2');
    // m1 keeps only the map itself (data is a map: its applier owns it, '.'), as on a real server.
    const owned = Object.fromEntries(
      f.object.metadata.managedFields.map((e: { manager: string; fieldsV1: object }) => [
        e.manager,
        e.fieldsV1,
      ]),
    );
    expect(owned).toEqual({ m1: { 'f:data': { '.': {} } }, m2: { 'f:data': { '.': {}, 'f:a': {} } } });
  });

  it('an update takes the fields it changed from the applier', () => {
    const before = serverSideApply(undefined, cm({ a: '1', b: '1' }), 'm1', false, 'v1').object;
    const after = structuredClone(before);
    after.data.a = 'changed';
    recordUpdate(before, after, 'editor', 'v1');
    const managers = Object.fromEntries(
      after.metadata.managedFields.map((e: { manager: string; fieldsV1: object }) => [e.manager, e.fieldsV1]),
    );
    expect(managers).toEqual({
      m1: { 'f:data': { '.': {}, 'f:b': {} } },
      editor: { 'f:data': { 'f:a': {} } },
    });
  });

  it('strategic merge: keyed lists by name, $patch: replace; JSON patch errors on a missing path', () => {
    const live = {
      spec: {
        template: {
          metadata: { labels: { a: '1' } },
          spec: {
            containers: [
              { name: 'x', image: 'old' },
              { name: 'y', image: 'y' },
            ],
          },
        },
      },
    };
    expect(
      strategicMergePatch(live, {
        spec: { template: { spec: { containers: [{ name: 'x', image: 'new' }] } } },
      }),
    ).toEqual({
      spec: {
        template: {
          metadata: { labels: { a: '1' } },
          spec: {
            containers: [
              { name: 'x', image: 'new' },
              { name: 'y', image: 'y' },
            ],
          },
        },
      },
    });
    expect(
      strategicMergePatch(live, {
        spec: { template: { $patch: 'replace', spec: { containers: [{ name: 'z', image: 'z' }] } } },
      }),
    ).toEqual({
      spec: { template: { spec: { containers: [{ name: 'z', image: 'z' }] } } },
    });
    expect(() => jsonPatch(live, [{ op: 'replace', path: '/spec/nope/x', value: 1 }])).toThrow(/missing/);
    expect(
      jsonPatch(live, [{ op: 'replace', path: '/spec/template/metadata', value: {} }]).spec.template.metadata,
    ).toEqual({});
  });
});
