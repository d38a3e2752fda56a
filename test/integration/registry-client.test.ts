import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { C2CError } from '../../src/core/errors.js';
import {
  connectRegistry,
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_MANIFEST,
  RegistryAuthError,
  RegistryError,
  type Registry,
} from '../../src/registry/index.js';
import { haveTools } from '../helpers/tools.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { pushTestImage, pushTestIndex, sha256 } from '../helpers/oci.js';

describe.skipIf(!haveTools('docker-registry'))('registry client against the real registry', () => {
  let plain: RegistryServer;
  let basic: RegistryServer;
  let reg: Registry;
  const logger = memoryLogger();

  beforeAll(async () => {
    [plain, basic] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' })]);
    reg = await connectRegistry(plain.host, { logger });
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), basic?.stop()]);
  });

  it('uses plain http for a loopback registry and reports where it pushes', () => {
    expect(reg.host).toBe(plain.host);
    expect(reg.endpoint.toString()).toBe(`http://${plain.host}/`);
    expect(reg.endpointHost).toBe(plain.host);
    expect(reg.insecure).toBe(true);
  });

  it('HEAD: the digest of a present tag, undefined for an absent tag and an absent repository', async () => {
    const pushed = await pushTestImage(plain, 'app/head', 'v1');
    const info = await reg.head('app/head', 'v1');
    expect(info).toEqual({ digest: pushed.digest, mediaType: OCI_MANIFEST, size: pushed.size });
    expect(await reg.head('app/head', pushed.digest)).toMatchObject({ digest: pushed.digest });
    expect(await reg.head('app/head', 'v2')).toBeUndefined();
    expect(await reg.head('app/nothing-here', 'v1')).toBeUndefined();
  });

  it('HEAD of a Docker v2 manifest answers its own media type (the Accept header lists it)', async () => {
    const pushed = await pushTestImage(plain, 'app/docker', 'v1', { format: 'docker' });
    expect(await reg.head('app/docker', 'v1')).toEqual({
      digest: pushed.digest,
      mediaType: DOCKER_MANIFEST,
      size: pushed.size,
    });
  });

  it('pushes a manifest with labels and annotations and reads them back through imageConfig', async () => {
    const config = Buffer.from(
      JSON.stringify({
        created: '2024-05-06T07:08:09Z',
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'org.opencontainers.image.revision': 'abc123', 'c2c.hash': 'deadbeef' } },
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    );
    const configDigest = await reg.pushBlob('app/labels', config);
    expect(configDigest).toBe(sha256(config));
    // Pushing again finds it present and uploads nothing.
    expect(await reg.pushBlob('app/labels', config)).toBe(configDigest);
    expect(await reg.blobExists('app/labels', configDigest)).toBe(true);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [],
      annotations: { 'c2c.hash-manifest': '{"files":["a"]}' },
    });
    const digest = await reg.putManifest('app/labels', 'deps-1', manifest, OCI_MANIFEST);
    expect(digest).toBe(sha256(manifest));
    // The same manifest under a second tag (extra-tags) has the same digest.
    expect(await reg.putManifest('app/labels', 'latest', manifest, OCI_MANIFEST)).toBe(digest);

    const cfg = await reg.imageConfig('app/labels', 'deps-1');
    expect(cfg.labels).toEqual({ 'org.opencontainers.image.revision': 'abc123', 'c2c.hash': 'deadbeef' });
    expect(cfg.created).toBe('2024-05-06T07:08:09Z');
    expect(cfg.digest).toBe(digest);
    expect(cfg.manifestDigest).toBe(digest);
    expect(cfg.configDigest).toBe(configDigest);
    expect(cfg.annotations).toEqual({ 'c2c.hash-manifest': '{"files":["a"]}' });

    const got = await reg.getManifest('app/labels', 'latest');
    expect(got.info).toEqual({ digest, mediaType: OCI_MANIFEST, size: Buffer.byteLength(manifest) });
    expect(got.json.annotations['c2c.hash-manifest']).toBe('{"files":["a"]}');
    expect((await reg.getBlob('app/labels', configDigest)).equals(config)).toBe(true);
  });

  it('refuses a manifest whose content does not match the digest it is put under', async () => {
    const body = JSON.stringify({ schemaVersion: 2 });
    await expect(reg.putManifest('app/x', `sha256:${'0'.repeat(64)}`, body, OCI_MANIFEST)).rejects.toThrow(
      /digest is sha256:[0-9a-f]{64}, not sha256:0{64}/,
    );
  });

  it('follows an index to the linux/amd64 image, keeping the index digest and its annotations', async () => {
    const arm = await pushTestImage(plain, 'app/multi', 'arm', {
      architecture: 'arm64',
      labels: { arch: 'arm64' },
    });
    const amd = await pushTestImage(plain, 'app/multi', 'amd', {
      labels: { arch: 'amd64' },
      annotations: { which: 'amd64-manifest' },
    });
    const index = await pushTestIndex(
      plain,
      'app/multi',
      'v1',
      [
        { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
        { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      ],
      { which: 'index', 'from.index': 'yes' },
    );
    expect(await reg.head('app/multi', 'v1')).toMatchObject({ digest: index.digest, mediaType: OCI_INDEX });
    const cfg = await reg.imageConfig('app/multi', 'v1');
    expect(cfg.labels).toEqual({ arch: 'amd64' });
    expect(cfg.digest).toBe(index.digest);
    expect(cfg.manifestDigest).toBe(amd.digest);
    expect(cfg.annotations).toEqual({ which: 'amd64-manifest', 'from.index': 'yes' });
  });

  it('lists every tag, and [] for a repository that does not exist', async () => {
    // (Pagination via Link headers is tested through a paginating proxy in registry-proxy.test.ts:
    // distribution 2.8 ignores n= and returns every tag at once.)
    const img = await pushTestImage(plain, 'app/tags', 't00');
    await reg.putManifest('app/tags', 't01', JSON.stringify(img.manifest), OCI_MANIFEST);
    expect((await reg.listTags('app/tags')).sort()).toEqual(['t00', 't01']);
    expect(await reg.listTags('app/never-pushed')).toEqual([]);
  });

  it('mounts a blob from another repository, and reports false when the source lacks it', async () => {
    const src = await pushTestImage(plain, 'app/mount-src', 'v1');
    const layer = src.layerDigests[0]!;
    expect(await reg.blobExists('app/mount-dst', layer)).toBe(false);
    expect(await reg.mountBlob('app/mount-dst', layer, 'app/mount-src')).toBe(true);
    expect(await reg.blobExists('app/mount-dst', layer)).toBe(true);
    const missing = `sha256:${'1'.repeat(64)}`;
    expect(await reg.mountBlob('app/mount-dst', missing, 'app/mount-src')).toBe(false);
    expect(await reg.blobExists('app/mount-dst', missing)).toBe(false);
  });

  it('getManifest of an absent tag is a RegistryError with status 404 naming it', async () => {
    const err = await reg.getManifest('app/head', 'nope').catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBe(404);
    expect(err.message).toContain(`app/head:nope on ${plain.host} does not exist`);
  });

  it('refuses invalid repository names and references before any request', async () => {
    await expect(reg.head('App/Upper', 'v1')).rejects.toThrow(/not a valid repository name/);
    await expect(reg.head('app', 'bad tag')).rejects.toThrow(/neither a tag nor a digest/);
    await expect(connectRegistry('not a host', { logger })).rejects.toThrow(/is not a registry host/);
  });

  it('basic auth: good credentials push and read; credentials() hands them to builders', async () => {
    const l = memoryLogger();
    const r = await connectRegistry(basic.host, {
      username: basic.username,
      password: basic.password,
      logger: l,
    });
    const img = await pushTestImage(basic, 'app/basic', 'v1', { labels: { a: 'b' } });
    expect(await r.head('app/basic', 'v1')).toMatchObject({ digest: img.digest });
    expect((await r.imageConfig('app/basic', 'v1')).labels).toEqual({ a: 'b' });
    expect(await r.credentials()).toEqual({
      username: basic.username,
      password: basic.password,
      source: 'inputs registry-username/registry-password',
    });
    // Registered as a secret: a line that mentions it comes out masked.
    l.info(`password is ${basic.password}`);
    expect(l.text()).not.toContain(basic.password!);
  });

  it('basic auth: a wrong password fails with a message naming the user and source, never the password', async () => {
    const l = memoryLogger();
    const wrong = 'Wr0ng-pass-XYZ';
    const r = await connectRegistry(basic.host, {
      username: basic.username,
      password: wrong,
      credentialSource: 'flags --registry-username/--registry-password',
      logger: l,
    });
    const err = await r.head('app/basic', 'v1').catch((e) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect(err).toBeInstanceOf(C2CError);
    expect(err.message).toContain(
      `as '${basic.username}' (from flags --registry-username/--registry-password)`,
    );
    expect(err.message).toContain('repository:app/basic:pull');
    expect(err.message).toContain('HTTP 401');
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(Buffer.from(`${basic.username}:${wrong}`).toString('base64'));
    expect(l.text()).not.toContain(wrong);
  });

  it('basic auth: no credentials fails saying anonymous and what to give', async () => {
    const r = await connectRegistry(basic.host, { logger: memoryLogger() });
    const err = await r.head('app/basic', 'v1').catch((e) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect(err.message).toMatch(/anonymously/);
    expect(err.message).toMatch(/needs credentials/);
  });

  it('a username without a password is an input error', async () => {
    await expect(connectRegistry(basic.host, { username: 'u', logger: memoryLogger() })).rejects.toThrow(
      "Input 'registry-password': is empty while registry-username is set",
    );
  });
});
