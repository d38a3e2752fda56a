import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { loadManifests } from '../../src/deploy/manifests/load.js';
import { applyNamespace, defaultIsNamespaced } from '../../src/deploy/manifests/namespaces.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/manifests');
const nsOf = (o: Record<string, unknown>) => (o.metadata as { namespace?: string }).namespace;

describe('applyNamespace', () => {
  it('sets the namespace on namespaced objects that name none, leaves cluster-scoped ones alone', async () => {
    const ms = await loadManifests(['multi/app.yaml', 'list/list.yaml'], { workspace: FIXTURES });
    ms.push({
      object: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } },
      file: 'x.yaml',
      line: 1,
      index: ms.length,
    });
    expect(applyNamespace(ms, 'team-a')).toBe(5);
    expect(ms.map((m) => nsOf(m.object))).toEqual([
      'team-a',
      'team-a',
      'team-a',
      'team-a',
      'team-a',
      undefined,
    ]);
  });

  it('rejects objects naming another namespace, listing each with file:line, and changes nothing', async () => {
    const ms = await loadManifests(['bad/namespace.yaml'], { workspace: FIXTURES });
    let err: InputError | undefined;
    try {
      applyNamespace(ms, 'team-b');
    } catch (e) {
      err = e as InputError;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(err!.input).toBe('namespace');
    expect(err!.message).toContain("Input 'namespace': is 'team-b', but 2 objects name another namespace");
    expect(err!.message).toContain("bad/namespace.yaml:6: ConfigMap/elsewhere names namespace 'other'");
    expect(err!.message).toContain("bad/namespace.yaml:12: ConfigMap/same names namespace 'team-a'");
    expect(err!.where).toEqual({ file: 'bad/namespace.yaml', line: 6 });
    // Validate first: the object without a namespace was not changed either.
    expect(nsOf(ms[0]!.object)).toBeUndefined();
  });

  it('accepts an object that names the same namespace', async () => {
    const ms = await loadManifests(['bad/namespace.yaml'], { workspace: FIXTURES });
    const ok = ms.filter((m) => (m.object.metadata as { name: string }).name !== 'elsewhere');
    expect(applyNamespace(ok, 'team-a')).toBe(1);
    expect(ok.map((m) => nsOf(m.object))).toEqual(['team-a', 'team-a', undefined]);
  });

  it('asks the isNamespaced callback first and falls back to the table when it does not know', () => {
    const objs = [
      { object: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } } },
      { object: { apiVersion: 'example.com/v1', kind: 'ClusterWidget', metadata: { name: 'c' } } },
      { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } } },
    ];
    applyNamespace(objs, 'ns1', {
      isNamespaced: (_av, kind) => (kind === 'ClusterWidget' ? false : undefined),
    });
    expect(objs.map((o) => nsOf(o.object))).toEqual(['ns1', undefined, undefined]);
  });

  it('does nothing with an empty namespace, and rejects an invalid one', () => {
    const objs = [{ object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } }];
    expect(applyNamespace(objs, '')).toBe(0);
    expect(nsOf(objs[0]!.object)).toBeUndefined();
    expect(() => applyNamespace(objs, 'Team_A')).toThrow(
      /Input 'namespace': 'Team_A' is not a valid namespace name/,
    );
  });

  it('knows the well-known cluster-scoped kinds by group', () => {
    expect(defaultIsNamespaced('v1', 'Namespace')).toBe(false);
    expect(defaultIsNamespaced('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).toBe(false);
    expect(defaultIsNamespaced('rbac.authorization.k8s.io/v1', 'Role')).toBe(true);
    // Same kind name in another group is not assumed cluster-scoped.
    expect(defaultIsNamespaced('example.com/v1', 'Namespace')).toBe(true);
  });
});
