import { createHash } from 'node:crypto';
import {
  InputError,
  fetchWithRetry,
  HttpError,
  redactUrl,
  type HttpResponse,
  type TlsOptions,
  RetryExhaustedError,
  type RetryOptions,
} from '../core/index.js';
import type { Logger } from '../core/index.js';
import { DOCKER_HUB, isLoopbackHost, parseEcrHost, parseImageReference } from '../images/index.js';
import { Authenticator, type RegistryCredentials } from './auth.js';
import { ecrLogin, type EcrSession } from './ecr.js';
import { RegistryError, RegistryUnreachableError, registryErrorDetail } from './errors.js';
import { isIndexMediaType, MANIFEST_ACCEPT, OCI_INDEX } from './media-types.js';
import { repositoryScope } from './www-authenticate.js';

export type { RegistryCredentials } from './auth.js';

export interface ConnectOptions {
  username?: string;
  password?: string;
  /** Where username/password came from, for error messages. Default "inputs registry-username/registry-password". */
  credentialSource?: string;
  logger: Logger;
  retry?: RetryOptions;
  /** TLS options for https registries (a private CA, client certificates). */
  tls?: TlsOptions;
  /** Socket inactivity timeout of one request. Default 30 s. */
  timeoutMs?: number;
}

/** A manifest or index as parsed JSON: its shape depends on the media type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ManifestJson = any;

/** A referrer as the referrers API (or the referrers tag's index) lists it. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageConfigInfo {
  /** Labels of the image config (config.Labels). */
  labels: Record<string, string>;
  /** config.created */
  created?: string;
  /** Digest the reference resolves to (the index's when the reference names an index): the one to pin. */
  digest: string;
  /** Digest of the single-platform manifest read (equals digest unless an index was followed). */
  manifestDigest: string;
  configDigest: string;
  /** Annotations of the index (when followed) overlaid by those of the image manifest. */
  annotations: Record<string, string>;
  /** The image config JSON as stored. */
  config: Record<string, unknown>;
}

export interface Registry {
  /** Logical host, as in image references. */
  host: string;
  /** Where HTTP goes (for ECR: the authorization token's proxyEndpoint). */
  endpoint: URL;
  /** host[:port] a builder must push to (equals host except with an ECR endpoint override). */
  endpointHost: string;
  /** Plain http (only ever for loopback hosts). */
  insecure: boolean;
  /** Credentials for builders (buildah --authfile, docker login); already registered with logger.secret(). */
  credentials(): Promise<RegistryCredentials | undefined>;
  /**
   * ECR: DescribeRepositories, CreateRepository when missing (tags IMMUTABLE but `movingTags`, see
   * tagMutability). Other registries create repositories on push: no-op.
   */
  ensureRepository(repository: string, movingTags?: string[]): Promise<void>;
  /** One HEAD of a manifest; undefined on 404. */
  head(repository: string, reference: string): Promise<ManifestInfo | undefined>;
  getManifest(repository: string, reference: string): Promise<{ info: ManifestInfo; json: ManifestJson }>;
  /** PUT a manifest under a tag or its digest; returns its digest. */
  putManifest(
    repository: string,
    reference: string,
    body: Buffer | string,
    mediaType: string,
  ): Promise<string>;
  /**
   * PUT a manifest that names a `subject` (an OCI 1.1 referrer: a signature, an SBOM) by its digest;
   * `indexed`: the registry said (header OCI-Subject) that its referrers API lists it, else the
   * caller keeps the referrers tag (sha256-<hex>) itself.
   */
  putReferrer(
    repository: string,
    body: string,
    mediaType: string,
  ): Promise<{ digest: string; indexed: boolean }>;
  /**
   * The referrers of a manifest (GET /v2/<name>/referrers/<digest>, OCI 1.1), optionally of one
   * artifact type; undefined when the registry has no referrers API (then they are in the index
   * under the tag sha256-<hex>).
   */
  referrers(repository: string, digest: string): Promise<ReferrerDescriptor[] | undefined>;
  getBlob(repository: string, digest: string): Promise<Buffer>;
  blobExists(repository: string, digest: string): Promise<boolean>;
  /** Uploads a blob (monolithic POST + PUT) unless it exists; returns its digest. */
  pushBlob(repository: string, data: Buffer): Promise<string>;
  /** Labels, created and digests of an image; follows an index to linux/amd64 (or the first image). */
  imageConfig(repository: string, reference: string): Promise<ImageConfigInfo>;
  /**
   * Every tag, page by page (n per page, default 1000): following Link headers, else asking with
   * `last` after a full page (OCI distribution spec); [] when the repository does not exist.
   */
  listTags(repository: string, opts?: { pageSize?: number }): Promise<string[]>;
  /** Cross-repository blob mount; true when mounted, false when the registry declined (the upload it opened is cancelled). */
  mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean>;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function checkRepository(repository: string): void {
  if (!REPOSITORY.test(repository))
    throw new RegistryError(
      `'${repository}' is not a valid repository name (lowercase path components such as org/app)`,
    );
}

function checkReference(reference: string): void {
  if (!TAG.test(reference) && !DIGEST.test(reference))
    throw new RegistryError(`'${reference}' is neither a tag nor a digest`);
}

function checkDigest(digest: string): void {
  if (!DIGEST.test(digest)) throw new RegistryError(`'${digest}' is not a digest (sha256:<64 hex>)`);
}

/** sha256:<hex> of a body (or sha512 when the expected digest uses it). */
export function digestOf(body: Buffer | string, algorithm = 'sha256'): string {
  if (algorithm !== 'sha256' && algorithm !== 'sha512')
    throw new RegistryError(`unsupported digest algorithm '${algorithm}'`);
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

function verifyDigest(expected: string, body: Buffer, what: string): void {
  const algorithm = expected.slice(0, expected.indexOf(':'));
  const actual = digestOf(body, algorithm);
  if (actual !== expected)
    throw new RegistryError(
      `${what}: the content's digest is ${actual}, not the ${expected} the registry announced`,
    );
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaTypeOf(res: HttpResponse): string {
  return (header(res, 'content-type') ?? '').split(';')[0]!.trim();
}

interface CallOptions {
  scopes: string[];
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Statuses returned to the caller besides 2xx. */
  accept?: number[];
  what: string;
  /** Follow redirects (GET/HEAD of blobs and manifests). */
  follow?: boolean;
}

const REDIRECTS = [301, 302, 303, 307, 308];

class DistributionRegistry implements Registry {
  readonly endpointHost: string;
  readonly insecure: boolean;
  private readonly ensured = new Set<string>();

  constructor(
    readonly host: string,
    readonly endpoint: URL,
    private readonly auth: Authenticator,
    private readonly creds: RegistryCredentials | undefined,
    private readonly logger: Logger,
    private readonly opts: { retry?: RetryOptions; tls?: TlsOptions; timeoutMs?: number },
    private readonly ecr?: EcrSession,
  ) {
    this.endpointHost = endpoint.host;
    this.insecure = endpoint.protocol === 'http:';
  }

  async credentials(): Promise<RegistryCredentials | undefined> {
    return this.creds ? { ...this.creds } : undefined;
  }

  async ensureRepository(repository: string, movingTags: string[] = []): Promise<void> {
    checkRepository(repository);
    if (!this.ecr || this.ensured.has(repository)) return;
    await this.ecr.ensureRepository(repository, movingTags);
    this.ensured.add(repository);
  }

  async head(repository: string, reference: string): Promise<ManifestInfo | undefined> {
    checkRepository(repository);
    checkReference(reference);
    const res = await this.call('HEAD', `/v2/${repository}/manifests/${reference}`, {
      scopes: [repositoryScope(repository, ['pull'])],
      headers: { accept: MANIFEST_ACCEPT },
      accept: [404],
      follow: true,
      what: `HEAD manifest ${repository}:${reference} on ${this.host}`,
    });
    if (res.status === 404) return undefined;
    const digest = header(res, 'docker-content-digest') ?? (DIGEST.test(reference) ? reference : undefined);
    if (!digest) return (await this.getManifest(repository, reference)).info; // a registry that omits the header
    return { digest, mediaType: mediaTypeOf(res), size: Number(header(res, 'content-length') ?? 0) };
  }

  async getManifest(
    repository: string,
    reference: string,
  ): Promise<{ info: ManifestInfo; json: ManifestJson }> {
    checkRepository(repository);
    checkReference(reference);
    const what = `manifest ${repository}${DIGEST.test(reference) ? '@' : ':'}${reference} on ${this.host}`;
    const res = await this.call('GET', `/v2/${repository}/manifests/${reference}`, {
      scopes: [repositoryScope(repository, ['pull'])],
      headers: { accept: MANIFEST_ACCEPT },
      accept: [404],
      follow: true,
      what: `GET ${what}`,
    });
    if (res.status === 404)
      throw new RegistryError(`The ${what} does not exist (${registryErrorDetail(res.body)})`, 404);
    const announced = header(res, 'docker-content-digest');
    if (announced) verifyDigest(announced, res.body, `GET ${what}`);
    if (DIGEST.test(reference)) verifyDigest(reference, res.body, `GET ${what}`);
    const digest = announced ?? (DIGEST.test(reference) ? reference : digestOf(res.body));
    let json: ManifestJson;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError(`The ${what} is not JSON`);
    }
    const mediaType = mediaTypeOf(res) || (typeof json?.mediaType === 'string' ? json.mediaType : '');
    return { info: { digest, mediaType, size: res.body.length }, json };
  }

  async putManifest(
    repository: string,
    reference: string,
    body: Buffer | string,
    mediaType: string,
  ): Promise<string> {
    checkRepository(repository);
    checkReference(reference);
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const computed = digestOf(buf);
    if (DIGEST.test(reference) && reference.startsWith('sha256:') && reference !== computed)
      throw new RegistryError(`putManifest: the manifest's digest is ${computed}, not ${reference}`);
    const res = await this.call('PUT', `/v2/${repository}/manifests/${reference}`, {
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      headers: { 'content-type': mediaType },
      body: buf,
      what: `PUT manifest ${repository}:${reference} on ${this.host}`,
    });
    const announced = header(res, 'docker-content-digest');
    if (announced && announced.startsWith('sha256:') && announced !== computed)
      throw new RegistryError(
        `PUT manifest ${repository}:${reference} on ${this.host}: the registry stored digest ${announced}, the manifest's is ${computed}`,
      );
    return announced ?? computed;
  }

  async putReferrer(
    repository: string,
    body: string,
    mediaType: string,
  ): Promise<{ digest: string; indexed: boolean }> {
    checkRepository(repository);
    const buf = Buffer.from(body, 'utf8');
    const digest = digestOf(buf);
    const res = await this.call('PUT', `/v2/${repository}/manifests/${digest}`, {
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      headers: { 'content-type': mediaType },
      body: buf,
      what: `PUT manifest ${repository}@${digest} on ${this.host}`,
    });
    const subject = (JSON.parse(body) as { subject?: { digest?: string } }).subject?.digest;
    return { digest, indexed: !!subject && header(res, 'oci-subject') === subject };
  }

  async referrers(repository: string, digest: string): Promise<ReferrerDescriptor[] | undefined> {
    checkRepository(repository);
    checkDigest(digest);
    const res = await this.call('GET', `/v2/${repository}/referrers/${digest}`, {
      scopes: [repositoryScope(repository, ['pull'])],
      headers: { accept: OCI_INDEX },
      // 404: no referrers API (distribution 2.x answers so for an unknown route); 400/405 likewise.
      accept: [400, 404, 405],
      follow: true,
      what: `GET referrers of ${repository}@${digest} on ${this.host}`,
    });
    if (res.status !== 200) return undefined;
    try {
      const index = JSON.parse(res.body.toString('utf8')) as { manifests?: ReferrerDescriptor[] };
      return Array.isArray(index.manifests) ? index.manifests : undefined;
    } catch {
      return undefined;
    }
  }

  async getBlob(repository: string, digest: string): Promise<Buffer> {
    checkRepository(repository);
    checkDigest(digest);
    const what = `blob ${repository}@${digest} on ${this.host}`;
    const res = await this.call('GET', `/v2/${repository}/blobs/${digest}`, {
      scopes: [repositoryScope(repository, ['pull'])],
      accept: [404],
      follow: true,
      what: `GET ${what}`,
    });
    if (res.status === 404) throw new RegistryError(`The ${what} does not exist`, 404);
    verifyDigest(digest, res.body, `GET ${what}`);
    return res.body;
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    checkRepository(repository);
    checkDigest(digest);
    const res = await this.call('HEAD', `/v2/${repository}/blobs/${digest}`, {
      scopes: [repositoryScope(repository, ['pull'])],
      accept: [404],
      follow: true,
      what: `HEAD blob ${repository}@${digest} on ${this.host}`,
    });
    return res.status !== 404;
  }

  async pushBlob(repository: string, data: Buffer): Promise<string> {
    checkRepository(repository);
    const digest = digestOf(data);
    if (await this.blobExists(repository, digest)) return digest;
    const scopes = [repositoryScope(repository, ['pull', 'push'])];
    const what = `blob upload ${repository}@${digest} on ${this.host}`;
    const start = await this.call('POST', `/v2/${repository}/blobs/uploads/`, {
      scopes,
      what: `POST ${what}`,
    });
    const location = header(start, 'location');
    if (start.status !== 202 || !location)
      throw new RegistryError(
        `POST ${what}: expected 202 with a Location, got ${start.status}`,
        start.status,
      );
    const put = new URL(location, this.endpoint);
    put.searchParams.set('digest', digest);
    await this.call('PUT', put.toString(), {
      scopes,
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
      what: `PUT ${what}`,
    });
    return digest;
  }

  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    checkRepository(repository);
    checkRepository(fromRepository);
    checkDigest(digest);
    const q = new URLSearchParams({ mount: digest, from: fromRepository });
    const what = `mount of ${digest} from ${fromRepository} into ${repository} on ${this.host}`;
    const res = await this.call('POST', `/v2/${repository}/blobs/uploads/?${q}`, {
      scopes: [repositoryScope(repository, ['pull', 'push']), repositoryScope(fromRepository, ['pull'])],
      what: `POST ${what}`,
    });
    if (res.status === 201) return true;
    // 202: the registry could not mount and opened an upload instead; cancel it.
    const location = header(res, 'location');
    if (location) {
      await this.call('DELETE', new URL(location, this.endpoint).toString(), {
        scopes: [repositoryScope(repository, ['pull', 'push'])],
        accept: [404],
        what: `DELETE upload opened by ${what}`,
      }).catch((e) => this.logger.debug(`cancelling the upload failed: ${(e as Error).message}`));
    }
    this.logger.debug(`${what}: not mounted (HTTP ${res.status})`);
    return false;
  }

  async listTags(repository: string, opts: { pageSize?: number } = {}): Promise<string[]> {
    checkRepository(repository);
    const n = opts.pageSize ?? 1000;
    const base = `/v2/${repository}/tags/list`;
    const tags: string[] = [];
    const seen = new Set<string>();
    let next: string | undefined = `${base}?n=${n}`;
    for (let page = 0; next && page < 10_000; page++) {
      const res: HttpResponse = await this.call('GET', next, {
        scopes: [repositoryScope(repository, ['pull'])],
        accept: [404],
        follow: true,
        what: `GET tags of ${repository} on ${this.host}`,
      });
      if (res.status === 404) return tags; // no such repository: no tags
      const json = JSON.parse(res.body.toString('utf8')) as { tags?: string[] | null };
      const pageTags = json.tags ?? [];
      const fresh = pageTags.filter((t) => !seen.has(t));
      // A registry that ignores `last` answers the same page again: that is the end.
      if (fresh.length === 0) break;
      for (const t of fresh) seen.add(t);
      tags.push(...fresh);
      // The OCI distribution spec: follow a Link header when there is one (it is optional); without
      // one, a page of exactly n tags may have a next page, asked for with last=<its last tag>; a
      // shorter page is the last, and a longer one means the registry ignored n and sent them all.
      next =
        nextLink(header(res, 'link')) ??
        (pageTags.length === n ? `${base}?n=${n}&last=${encodeURIComponent(pageTags.at(-1)!)}` : undefined);
    }
    return tags;
  }

  async imageConfig(repository: string, reference: string): Promise<ImageConfigInfo> {
    const top = await this.getManifest(repository, reference);
    let manifest = top;
    let annotations: Record<string, string> = {};
    if (isIndexMediaType(top.info.mediaType) || Array.isArray(top.json?.manifests)) {
      annotations = { ...(top.json.annotations ?? {}) };
      const entry = pickPlatform(top.json.manifests ?? []);
      if (!entry)
        throw new RegistryError(
          `The index ${repository}:${reference} on ${this.host} lists no image manifest`,
        );
      manifest = await this.getManifest(repository, entry.digest);
    }
    const configDigest = manifest.json?.config?.digest;
    if (typeof configDigest !== 'string')
      throw new RegistryError(
        `The manifest ${repository}@${manifest.info.digest} on ${this.host} has no config (media type ${manifest.info.mediaType})`,
      );
    const config = JSON.parse((await this.getBlob(repository, configDigest)).toString('utf8')) as {
      created?: string;
      config?: { Labels?: Record<string, string> | null };
    };
    return {
      labels: { ...(config.config?.Labels ?? {}) },
      ...(typeof config.created === 'string' ? { created: config.created } : {}),
      digest: top.info.digest,
      manifestDigest: manifest.info.digest,
      configDigest,
      annotations: { ...annotations, ...(manifest.json.annotations ?? {}) },
      config: config as Record<string, unknown>,
    };
  }

  /** One request with auth, retries (via fetchWithRetry), redirects and clear errors. */
  private async call(method: string, target: string, o: CallOptions): Promise<HttpResponse> {
    let url = new URL(target, this.endpoint);
    let scopes = o.scopes;
    let authRetried = false;
    for (let hops = 0; ;) {
      const sameOrigin = url.origin === this.endpoint.origin;
      const authorization = sameOrigin ? await this.auth.header(scopes) : undefined;
      const res = await this.send(
        {
          method,
          url,
          headers: { ...o.headers, ...(authorization ? { authorization } : {}) },
          ...(o.body !== undefined ? { body: o.body } : {}),
        },
        [...(o.accept ?? []), 401, 403, ...REDIRECTS],
        o.what,
      );
      if (res.status === 401 && sameOrigin && !authRetried) {
        authRetried = true;
        const again = this.auth.retryAfter401(res, scopes, authorization);
        if (again) {
          scopes = again;
          continue;
        }
      }
      if (res.status === 401 || res.status === 403)
        throw this.auth.error(res.status, scopes, registryErrorDetail(res.body));
      if (REDIRECTS.includes(res.status)) {
        const location = header(res, 'location');
        if (!o.follow || !location || hops >= 5)
          throw new RegistryError(`${o.what}: unexpected redirect (HTTP ${res.status})`, res.status);
        url = new URL(location, url);
        hops++;
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || o.accept?.includes(res.status)) return res;
      throw new RegistryError(`${o.what}: HTTP ${res.status}: ${registryErrorDetail(res.body)}`, res.status);
    }
  }

  private send(
    req: { method: string; url: URL; headers: Record<string, string>; body?: Buffer | string },
    accept: number[],
    what: string,
  ): Promise<HttpResponse> {
    return sendWithRetry(
      this.host,
      { ...req, ...this.opts.tls, timeoutMs: this.opts.timeoutMs },
      accept,
      what,
      this.logger,
      this.opts.retry,
    );
  }
}

async function sendWithRetry(
  host: string,
  req: {
    method: string;
    url: URL;
    headers?: Record<string, string>;
    body?: Buffer | string;
    timeoutMs?: number | undefined;
  } & TlsOptions,
  accept: number[],
  what: string,
  logger: Logger,
  retry: RetryOptions | undefined,
): Promise<HttpResponse> {
  const { timeoutMs, ...rest } = req;
  try {
    return await fetchWithRetry(
      { ...rest, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
      { accept, logger, what, ...(retry ? { retry } : {}) },
    );
  } catch (err) {
    const last = err instanceof RetryExhaustedError ? err.last : err;
    if (last instanceof HttpError)
      throw new RegistryError(
        `${err instanceof RetryExhaustedError ? err.message.split(': HTTP')[0] : what}: HTTP ${last.status}: ${registryErrorDetail(last.body)}`,
        last.status,
        { cause: err },
      );
    throw new RegistryUnreachableError(host, redactUrl(req.url), err);
  }
}

/** The URL of rel="next" in a Link header: </v2/app/tags/list?last=b&n=2>; rel="next". */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>(.*)/.exec(part.trim());
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

interface IndexEntry {
  digest: string;
  mediaType?: string;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

/** linux/amd64 when listed, else the first entry that is an image (not an attestation). */
export function pickPlatform(entries: IndexEntry[]): IndexEntry | undefined {
  const images = entries.filter(
    (e) =>
      typeof e.digest === 'string' &&
      e.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
      !(e.platform?.os === 'unknown' && e.platform?.architecture === 'unknown'),
  );
  return images.find((e) => e.platform?.os === 'linux' && e.platform?.architecture === 'amd64') ?? images[0];
}

function endpointFor(host: string): URL | undefined {
  if (host === DOCKER_HUB) return new URL('https://registry-1.docker.io');
  if (isLoopbackHost(host)) return new URL(`http://${host}`);
  return new URL(`https://${host}`);
}

/**
 * Connects to a registry: ECR hosts get an authorization token from the AWS SDK (default credential
 * chain, region from the host); every registry is pinged (GET /v2/) anonymously to learn its
 * authentication challenge. Plain http only for loopback hosts.
 */
/**
 * What `repository:tag` holds (builder TagHolding): its digest and the config digest of the image,
 * or of each platform's image under an index; undefined when there is no such tag.
 */
export async function tagHolding(
  reg: Registry,
  repository: string,
  tag: string,
): Promise<{ digest: string; configs: string[] } | undefined> {
  if (!(await reg.head(repository, tag))) return undefined;
  const { info, json } = await reg.getManifest(repository, tag);
  const children: Array<{ digest: string }> = Array.isArray(json?.manifests) ? json.manifests : [];
  const configs: string[] = [];
  if (json?.config?.digest) configs.push(String(json.config.digest));
  for (const c of children) {
    const child = await reg.getManifest(repository, c.digest);
    if (child.json?.config?.digest) configs.push(String(child.json.config.digest));
  }
  return { digest: info.digest, configs: configs.sort() };
}

/**
 * The layer cache of `repository` (`cache: registry`): `<repository>-cache` next to it, made when
 * missing with every tag movable (its tags are step keys any build may push again); its full
 * reference host/name for the builder.
 */
export async function ensureCacheRepository(reg: Registry, repository: string): Promise<string> {
  const cache = `${repository}-cache`;
  await reg.ensureRepository(cache, ['*']);
  return `${reg.endpointHost}/${cache}`;
}

export async function connectRegistry(host: string, opts: ConnectOptions): Promise<Registry> {
  const { logger } = opts;
  let parsed;
  try {
    parsed = parseImageReference(`${host}/x`);
  } catch {
    parsed = undefined;
  }
  if (!host || !parsed || parsed.registry !== (host === 'index.docker.io' ? DOCKER_HUB : host))
    throw new RegistryError(`'${host}' is not a registry host (host[:port], e.g. ghcr.io or 127.0.0.1:5000)`);
  if (opts.username && !opts.password)
    throw new InputError('registry-password', 'is empty while registry-username is set', 'both or neither');
  if (opts.password && !opts.username)
    throw new InputError('registry-username', 'is empty while registry-password is set', 'both or neither');

  let creds: RegistryCredentials | undefined;
  let endpoint = endpointFor(parsed.registry)!;
  let ecr: EcrSession | undefined;
  const ecrHost = parseEcrHost(host);
  if (ecrHost) {
    if (opts.username)
      logger.debug(
        `${host} is an ECR registry: registry-username/registry-password are ignored, AWS credentials are used`,
      );
    ecr = await ecrLogin(host, ecrHost, logger, opts.retry);
    creds = { username: ecr.username, password: ecr.password, source: 'ECR GetAuthorizationToken' };
    endpoint = ecr.endpoint;
  } else if (opts.username && opts.password) {
    logger.secret(opts.password);
    creds = {
      username: opts.username,
      password: opts.password,
      source: opts.credentialSource ?? 'inputs registry-username/registry-password',
    };
  }
  if (endpoint.protocol === 'http:' && !isLoopbackHost(endpoint.host))
    throw new RegistryError(
      `Refusing plain http to ${endpoint.host} for ${host}: only loopback registries may use http`,
    );

  const tlsOpts = opts.tls ?? {};
  const auth = new Authenticator(host, creds, logger, opts.retry, tlsOpts as Record<string, unknown>);
  const ping = async (url: URL) =>
    sendWithRetry(
      host,
      { method: 'GET', url: new URL('/v2/', url), ...tlsOpts, timeoutMs: opts.timeoutMs },
      [400, 401, 403, 404],
      `GET ${new URL('/v2/', url)} (registry ${host})`,
      logger,
      opts.retry,
    );
  let res = await ping(endpoint);
  // A loopback registry served over TLS answers plain http with a 400 (Go's http.Server does).
  if (
    res.status === 400 &&
    endpoint.protocol === 'http:' &&
    /HTTP request to an HTTPS server/i.test(res.body.toString())
  ) {
    endpoint = new URL(`https://${endpoint.host}`);
    res = await ping(endpoint);
  }
  if (res.status === 401) {
    const ch = auth.learn(res);
    logger.debug(`${host}: registry asks for ${ch?.scheme ?? 'unknown'} authentication`);
  } else if (res.status === 404 || res.status === 400)
    throw new RegistryError(
      `${endpoint.origin} (registry ${host}) does not speak the Distribution API v2: GET /v2/ answered HTTP ${res.status}`,
      res.status,
    );
  else if (res.status === 403) throw auth.error(403, [], registryErrorDetail(res.body));
  return new DistributionRegistry(host, endpoint, auth, creds, logger, opts, ecr);
}
