import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { C2CError, InputError } from '../../src/core/errors.js';
import {
  parseImageEntries,
  pinDigests,
  repositoryText,
  substituteImages,
  substitutedImage,
} from '../../src/deploy/images/substitute.js';
import { loadManifests, type Manifest } from '../../src/deploy/manifests/load.js';
import { parseImageReference } from '../../src/images/reference.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/manifests');
const D = (c: string) => `sha256:${c.repeat(64)}`;

/** Every container image of the loaded objects, as `name/container=image`. */
function images(ms: Manifest[]): string[] {
  const out: string[] = [];
  const walk = (name: string, spec: unknown) => {
    for (const list of ['initContainers', 'containers', 'ephemeralContainers'])
      for (const c of ((spec as Record<string, unknown> | undefined)?.[list] as Array<{
        name: string;
        image: string;
      }>) ?? [])
        out.push(`${name}/${c.name}=${c.image}`);
  };
  for (const m of ms) {
    const o = m.object as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const name = o.metadata.name as string;
    if (o.kind === 'Pod') walk(name, o.spec);
    else if (o.kind === 'CronJob') walk(name, o.spec.jobTemplate.spec.template.spec);
    else if (o.spec?.template) walk(name, o.spec.template.spec);
  }
  return out;
}

let ms: Manifest[];
beforeEach(async () => {
  ms = await loadManifests(['images/workloads.yaml'], { workspace: FIXTURES });
});

function error(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    return e as InputError;
  }
  throw new Error('expected an error');
}

describe('substituteImages', () => {
  it('matches by registry host with port and path, Docker Hub normalised, and leaves other images alone', () => {
    const changes = substituteImages(ms, [
      '127.0.0.1:5000/app:2',
      'nginx:1.27',
      `ghcr.io/org/sidecar@${D('c')}`,
    ]);
    expect(images(ms)).toEqual([
      'app/migrate=127.0.0.1:5000/app:2',
      'app/app=127.0.0.1:5000/app:2',
      // written as docker.io/library/nginx in the manifest: stays in that form
      'app/proxy=docker.io/library/nginx:1.27',
      `app/sidecar=ghcr.io/org/sidecar@${D('c')}`,
      // an image without a tag gets one
      'nightly/job=127.0.0.1:5000/app:2',
      // a tag-only entry drops the old digest (it pinned the old version)
      'debug/shell=nginx:1.27',
      'debug/dbg=busybox',
      // another port, another host: other repositories
      'db/db=127.0.0.1:5001/app:1',
      'db/other-port=localhost:5000/app:1',
    ]);
    expect((ms[4]!.object.data as { image: string }).image).toBe('127.0.0.1:5000/app:1');
    expect(changes).toHaveLength(6);
    expect(changes[0]).toEqual({
      kind: 'Deployment',
      name: 'app',
      container: 'migrate',
      list: 'initContainers',
      from: '127.0.0.1:5000/app:1',
      to: '127.0.0.1:5000/app:2',
      entry: '127.0.0.1:5000/app:2',
      file: 'images/workloads.yaml',
      line: 1,
    });
    expect(changes.map((c) => [c.kind, c.name, c.container, c.from, c.to])).toContainEqual([
      'Pod',
      'debug',
      'shell',
      `nginx:1.25@${D('b')}`,
      'nginx:1.27',
    ]);
  });

  it('records the namespace of the object when it has one', () => {
    (ms[2]!.object.metadata as Record<string, unknown>).namespace = 'dbg';
    const changes = substituteImages(ms, ['nginx:1.27']);
    expect(changes.map((c) => `${c.kind}/${c.namespace ?? '-'}/${c.name}`)).toEqual([
      'Deployment/-/app',
      'Pod/dbg/debug',
    ]);
  });

  it('pins a digest from an entry with a digest, and sets both from tag@digest', () => {
    substituteImages(ms, [`docker.io/nginx@${D('d')}`, `127.0.0.1:5000/app:3@${D('e')}`]);
    const all = images(ms);
    expect(all).toContain(`app/proxy=docker.io/library/nginx@${D('d')}`);
    expect(all).toContain(`debug/shell=nginx@${D('d')}`);
    expect(all).toContain(`nightly/job=127.0.0.1:5000/app:3@${D('e')}`);
  });

  it('rejects an entry that matches no container (a typo), naming it and the repositories present', () => {
    const before = images(ms);
    const e = error(() => substituteImages(ms, ['127.0.0.1:5000/app:2', '127.0.0.1:5000/ap:2']));
    expect(e).toBeInstanceOf(InputError);
    expect(e.input).toBe('images');
    expect(e.message).toContain(
      "'127.0.0.1:5000/ap:2' matches no container image in the manifests (a typo?)",
    );
    expect(e.message).toContain('127.0.0.1:5000/app, 127.0.0.1:5001/app, busybox');
    // validate first: nothing was substituted
    expect(images(ms)).toEqual(before);
  });

  it('rejects malformed references, entries without tag or digest, and conflicting entries, all at once', () => {
    const e = error(() =>
      substituteImages(ms, [
        '127.0.0.1:5000/App:2',
        'ghcr.io/org/sidecar',
        'ghcr.io/x@sha256:123',
        'nginx:1',
        'docker.io/library/nginx:2',
      ]),
    );
    expect(e.input).toBe('images');
    expect(e.message).toContain('4 entries are wrong');
    expect(e.message).toContain("path component 'App': repository names must be lowercase");
    expect(e.message).toContain("'ghcr.io/org/sidecar' has no tag or digest");
    expect(e.message).toContain("'ghcr.io/x@sha256:123' is not a valid image reference");
    expect(e.message).toContain("'nginx:1' and 'docker.io/library/nginx:2' name the same repository");
    expect(e.message).toContain('Expected references with a tag or digest');
  });

  it('accepts the same entry twice, and an empty list changes nothing', () => {
    expect(parseImageEntries(['nginx:1', 'docker.io/library/nginx:1', ' '])).toHaveLength(1);
    expect(substituteImages(ms, [])).toEqual([]);
  });

  it('skips container images it cannot parse (templated placeholders) and says so', () => {
    const skipped: string[] = [];
    const objs = [
      {
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p' },
          spec: {
            containers: [
              { name: 'a', image: '${IMAGE}' },
              { name: 'b', image: 'nginx' },
            ],
          },
        },
      },
    ];
    substituteImages(objs, ['nginx:1.27'], { onSkip: (img) => skipped.push(img) });
    expect(skipped).toEqual(['${IMAGE}']);
    expect(objs[0]!.object.spec.containers.map((c) => c.image)).toEqual(['${IMAGE}', 'nginx:1.27']);
  });
});

describe('substituteImages: which containers an entry names', () => {
  const pod = (images: string[]) => ({
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
    },
  });
  const imagesOf = (t: ReturnType<typeof pod>) => t.object.spec.containers.map((c) => c.image);

  it('an entry for a Docker Hub name replaces every spelling of it, and only those', () => {
    const t = pod([
      'nginx',
      'library/nginx:1.25',
      'docker.io/nginx:1.25',
      'docker.io/library/nginx:1.25',
      'index.docker.io/nginx:1.25',
      `index.docker.io/library/nginx:1.25@${D('a')}`,
      'registry-1.docker.io/nginx:1.25',
      'registry-1.docker.io/library/nginx',
      'ghcr.io/nginx:1.25',
      'bitnami/nginx:1.25',
    ]);
    const changes = substituteImages([t], ['nginx:1.27']);
    expect(imagesOf(t)).toEqual([
      'nginx:1.27',
      'library/nginx:1.27',
      'docker.io/nginx:1.27',
      'docker.io/library/nginx:1.27',
      'index.docker.io/nginx:1.27',
      'index.docker.io/library/nginx:1.27',
      'registry-1.docker.io/nginx:1.27',
      'registry-1.docker.io/library/nginx:1.27',
      // other repositories of the same last name
      'ghcr.io/nginx:1.25',
      'bitnami/nginx:1.25',
    ]);
    expect(changes).toHaveLength(8);
  });

  it('each spelling of a Docker Hub entry names the same containers', () => {
    for (const entry of [
      'index.docker.io/nginx:1.27',
      'registry-1.docker.io/nginx:1.27',
      'docker.io/nginx:1.27',
      'library/nginx:1.27',
    ]) {
      const t = pod(['nginx:1.25', 'index.docker.io/nginx:1.25']);
      substituteImages([t], [entry]);
      expect(imagesOf(t), entry).toEqual(['nginx:1.27', 'index.docker.io/nginx:1.27']);
    }
  });

  it('a repository name that is a prefix of another does not touch the other', () => {
    const t = pod([
      'nginx:1.25',
      'nginx-exporter:0.11',
      'nginx/exporter:1',
      '127.0.0.1:5000/shop/api:1',
      '127.0.0.1:5000/shop/api-worker:1',
      '127.0.0.1:5000/shop/api/v2:1',
      '127.0.0.1:5000/shop/apis:1',
      '127.0.0.1:5000/shop:1',
      '127.0.0.1:50001/shop/api:1',
    ]);
    const changes = substituteImages([t], ['nginx:1.27', '127.0.0.1:5000/shop/api:2']);
    expect(imagesOf(t)).toEqual([
      'nginx:1.27',
      'nginx-exporter:0.11',
      'nginx/exporter:1',
      '127.0.0.1:5000/shop/api:2',
      '127.0.0.1:5000/shop/api-worker:1',
      '127.0.0.1:5000/shop/api/v2:1',
      '127.0.0.1:5000/shop/apis:1',
      '127.0.0.1:5000/shop:1',
      '127.0.0.1:50001/shop/api:1',
    ]);
    expect(changes.map((c) => c.from)).toEqual(['nginx:1.25', '127.0.0.1:5000/shop/api:1']);
  });

  it('an entry that only prefixes a manifest image matches nothing, which is an error', () => {
    const t = pod(['nginx-exporter:0.11', '127.0.0.1:5000/shop/api-worker:1']);
    const e = error(() => substituteImages([t], ['nginx:1.27', '127.0.0.1:5000/shop/api:2']));
    expect(e.input).toBe('images');
    expect(e.message).toContain("'nginx:1.27', '127.0.0.1:5000/shop/api:2' match no container image");
    expect(imagesOf(t)).toEqual(['nginx-exporter:0.11', '127.0.0.1:5000/shop/api-worker:1']);
  });

  it('a registry with an IPv6 host and a port is matched with them', () => {
    const t = pod(['[::1]:5000/app:1', '[::1]:5001/app:1', '[::1]/app:1']);
    substituteImages([t], ['[::1]:5000/app:2']);
    expect(imagesOf(t)).toEqual(['[::1]:5000/app:2', '[::1]:5001/app:1', '[::1]/app:1']);
  });
});

describe('repositoryText and substitutedImage', () => {
  it.each([
    ['127.0.0.1:5000/app:1', '127.0.0.1:5000/app'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app'],
    [`127.0.0.1:5000/app@${D('a')}`, '127.0.0.1:5000/app'],
    [`nginx:1@${D('a')}`, 'nginx'],
    ['[::1]:5000/a/b:c', '[::1]:5000/a/b'],
  ])('%s -> %s', (image, repo) => {
    expect(repositoryText(image)).toBe(repo);
  });

  it('replaces the tag of an image on a registry with a port without touching the port', () => {
    expect(substitutedImage('127.0.0.1:5000/app', parseImageReference('127.0.0.1:5000/app:9'))).toBe(
      '127.0.0.1:5000/app:9',
    );
  });
});

describe('pinDigests', () => {
  it('resolves each substituted tag once and writes repo@sha256 into every container', async () => {
    const changes = substituteImages(ms, [
      '127.0.0.1:5000/app:2',
      'nginx:1.27',
      `ghcr.io/org/sidecar@${D('c')}`,
    ]);
    const calls: string[] = [];
    const pinned = await pinDigests(ms, changes, async (ref, parsed) => {
      calls.push(ref);
      expect(parsed.tag).toBeDefined();
      return ref.includes('nginx') ? D('1') : D('2');
    });
    // docker.io/library/nginx:1.27 and nginx:1.27 are the same image: one lookup.
    expect(calls.sort()).toEqual(['127.0.0.1:5000/app:2', 'docker.io/library/nginx:1.27']);
    expect(pinned.get('127.0.0.1:5000/app:2')).toBe(`127.0.0.1:5000/app@${D('2')}`);
    expect(images(ms)).toEqual([
      `app/migrate=127.0.0.1:5000/app@${D('2')}`,
      `app/app=127.0.0.1:5000/app@${D('2')}`,
      `app/proxy=docker.io/library/nginx@${D('1')}`,
      `app/sidecar=ghcr.io/org/sidecar@${D('c')}`,
      `nightly/job=127.0.0.1:5000/app@${D('2')}`,
      `debug/shell=nginx@${D('1')}`,
      'debug/dbg=busybox',
      'db/db=127.0.0.1:5001/app:1',
      'db/other-port=localhost:5000/app:1',
    ]);
    expect(changes.find((c) => c.container === 'job')!.to).toBe(`127.0.0.1:5000/app@${D('2')}`);
    expect(changes.find((c) => c.container === 'job')!.from).toBe('127.0.0.1:5000/app');
  });

  it('collects every failure into one error and changes nothing', async () => {
    const changes = substituteImages(ms, ['127.0.0.1:5000/app:2', 'nginx:1.27']);
    const before = images(ms);
    let err: C2CError | undefined;
    try {
      await pinDigests(ms, changes, async (ref) => {
        if (ref.startsWith('127.0.0.1')) throw new Error('manifest unknown (404)');
        if (ref.includes('nginx')) return 'latest';
        return D('1');
      });
    } catch (e) {
      err = e as C2CError;
    }
    expect(err).toBeInstanceOf(C2CError);
    expect(err!.message).toContain('Could not resolve 2 image tags to a digest');
    expect(err!.message).toContain("'127.0.0.1:5000/app:2': manifest unknown (404)");
    expect(err!.message).toContain(
      "'docker.io/library/nginx:1.27': the registry answered 'latest', not a sha256 digest",
    );
    expect(images(ms)).toEqual(before);
  });
});
