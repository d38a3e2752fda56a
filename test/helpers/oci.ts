import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Pushes small synthetic images straight through the Distribution API (blob upload POST + PUT, config,
 * manifest, optionally an index), for fast tests that need an image in a registry but no builder.
 * Deliberately independent of src/registry (plain fetch, its own minimal auth) so that tests of the
 * client do not check the client against itself. The layers are real gzipped tars: builders can pull them.
 */
export interface RegistryTarget {
  /** http://127.0.0.1:port */
  url: string;
  username?: string;
  password?: string;
}

export interface SyntheticImage {
  labels?: Record<string, string>;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Files of the single layer: path -> content. Default a single /hello.txt. */
  files?: Record<string, string | Buffer>;
  created?: string;
  os?: string;
  architecture?: string;
  /** 'oci' (default) or 'docker' media types. */
  format?: 'oci' | 'docker';
}

export interface PushedImage {
  digest: string;
  size: number;
  mediaType: string;
  manifest: Record<string, unknown>;
  configDigest: string;
  layerDigests: string[];
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A ustar archive of regular files (no directories needed for a test layer). */
export function tar(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const h = Buffer.alloc(512);
    const rel = name.replace(/^\/+/, '');
    h.write(rel.slice(0, 100), 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const tokens = new Map<string, string>();

/** fetch against the registry, answering a Basic or Bearer challenge once. */
export async function registryFetch(
  target: RegistryTarget,
  pathOrUrl: string,
  init: RequestInit & { scope?: string } = {},
): Promise<Response> {
  const url = new URL(pathOrUrl, target.url);
  const basic =
    target.username !== undefined
      ? `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`
      : undefined;
  const cacheKey = `${target.url}|${init.scope ?? ''}`;
  const withAuth = (authz?: string): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string>), ...(authz ? { authorization: authz } : {}) },
  });
  const cached = tokens.get(cacheKey);
  let res = await fetch(url, withAuth(cached ? `Bearer ${cached}` : basic));
  if (res.status !== 401) return res;
  const challenge = res.headers.get('www-authenticate') ?? '';
  if (/^bearer/i.test(challenge)) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const t = new URL(params.realm!);
    if (params.service) t.searchParams.set('service', params.service);
    if (init.scope) t.searchParams.set('scope', init.scope);
    const tr = await fetch(t, { headers: basic ? { authorization: basic } : {} });
    if (!tr.ok) throw new Error(`token request failed: ${tr.status} ${await tr.text()}`);
    const { token } = (await tr.json()) as { token: string };
    tokens.set(cacheKey, token);
    res = await fetch(url, withAuth(`Bearer ${token}`));
  }
  return res;
}

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

/** Uploads a blob (POST then PUT ?digest=); returns its digest. */
export async function pushBlob(target: RegistryTarget, repository: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const scope = `repository:${repository}:pull,push`;
  const start = await ok(
    await registryFetch(target, `/v2/${repository}/blobs/uploads/`, { method: 'POST', scope }),
    `start upload to ${repository}`,
  );
  const put = new URL(start.headers.get('location')!, target.url);
  put.searchParams.set('digest', digest);
  await ok(
    await registryFetch(target, put.toString(), {
      method: 'PUT',
      scope,
      body: new Uint8Array(data),
      headers: { 'content-type': 'application/octet-stream' },
    }),
    `upload ${digest} to ${repository}`,
  );
  return digest;
}

export async function putManifest(
  target: RegistryTarget,
  repository: string,
  reference: string,
  manifest: Record<string, unknown>,
  mediaType: string,
): Promise<{ digest: string; size: number }> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await ok(
    await registryFetch(target, `/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      scope: `repository:${repository}:pull,push`,
      body: new Uint8Array(body),
      headers: { 'content-type': mediaType },
    }),
    `put manifest ${repository}:${reference}`,
  );
  const digest = sha256(body);
  const announced = res.headers.get('docker-content-digest');
  if (announced && announced !== digest) throw new Error(`registry says ${announced}, body is ${digest}`);
  return { digest, size: body.length };
}

/** Pushes a one-layer image with the given labels and annotations under `tag`. */
export async function pushTestImage(
  target: RegistryTarget,
  repository: string,
  tag: string,
  image: SyntheticImage = {},
): Promise<PushedImage> {
  const docker = image.format === 'docker';
  const raw = tar(image.files ?? { 'hello.txt': `hello from ${repository}:${tag}\n` });
  const layer = gzipSync(raw);
  const config = {
    created: image.created ?? '2024-01-01T00:00:00Z',
    architecture: image.architecture ?? 'amd64',
    os: image.os ?? 'linux',
    config: { Labels: image.labels ?? {}, Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [sha256(raw)] },
    history: [{ created: image.created ?? '2024-01-01T00:00:00Z', created_by: 'test/helpers/oci.ts' }],
  };
  const configBuf = Buffer.from(JSON.stringify(config));
  const layerDigest = await pushBlob(target, repository, layer);
  const configDigest = await pushBlob(target, repository, configBuf);
  const mediaType = docker
    ? 'application/vnd.docker.distribution.manifest.v2+json'
    : 'application/vnd.oci.image.manifest.v1+json';
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: docker
        ? 'application/vnd.docker.container.image.v1+json'
        : 'application/vnd.oci.image.config.v1+json',
      digest: configDigest,
      size: configBuf.length,
    },
    layers: [
      {
        mediaType: docker
          ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
          : 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layerDigest,
        size: layer.length,
      },
    ],
    ...(image.annotations && !docker ? { annotations: image.annotations } : {}),
  };
  const { digest, size } = await putManifest(target, repository, tag, manifest, mediaType);
  return { digest, size, mediaType, manifest, configDigest, layerDigests: [layerDigest] };
}

/** Pushes an OCI index over images already in the repository. */
export async function pushTestIndex(
  target: RegistryTarget,
  repository: string,
  tag: string,
  entries: Array<{
    image: PushedImage;
    platform?: { os: string; architecture: string };
    annotations?: Record<string, string>;
  }>,
  annotations?: Record<string, string>,
): Promise<{ digest: string; size: number }> {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: entries.map((e) => ({
      mediaType: e.image.mediaType,
      digest: e.image.digest,
      size: e.image.size,
      ...(e.platform ? { platform: e.platform } : {}),
      ...(e.annotations ? { annotations: e.annotations } : {}),
    })),
    ...(annotations ? { annotations } : {}),
  };
  return putManifest(target, repository, tag, index, mediaType);
}

/** pushTestImage taking the registry's URL (or a target): pushSyntheticImage(reg.url, 'app-base', tag). */
export async function pushSyntheticImage(
  target: string | RegistryTarget,
  repository: string,
  tag: string,
  image: SyntheticImage = {},
): Promise<PushedImage> {
  return pushTestImage(typeof target === 'string' ? { url: target } : target, repository, tag, image);
}
