import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { MANIFEST_ACCEPT } from '../../src/registry/media-types.js';
import type { AddressInfo } from 'node:net';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy.js';

/**
 * A loopback ECR endpoint speaking the AWS JSON 1.1 protocol (POST /, X-Amz-Target:
 * AmazonEC2ContainerRegistry_V20150921.<Op>), for the real AWS SDK pointed at it with
 * AWS_ENDPOINT_URL_ECR. Requests must carry a valid SigV4 signature (verified here, independently of
 * the SDK) by a known access key, as ECR demands. GetAuthorizationToken hands out base64("AWS:<pw>")
 * that opens the real docker-registry behind it (htpasswd user AWS), and proxyEndpoint = a proxy in
 * front of that registry which keeps tags as ECR does: under an IMMUTABLE tag (the repository's
 * mutability and exclusion filters) a manifest of another digest is refused with 400 TAG_INVALID. Errors come back as ECR sends them: HTTP 400 with {"__type", "message"}
 * (RepositoryNotFoundException, ...), 403 for unknown keys or bad signatures.
 *
 * Repositories exist once created (CreateRepository or addRepository()); the registry itself would
 * accept pushes to any name, so tests that want ECR's "repository must exist" create them first.
 */
export const ECR_TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

export interface EcrCall {
  op: string;
  input: Record<string, unknown>;
  accessKeyId?: string;
  status: number;
  errorType?: string;
}

export interface EcrFake {
  url: string;
  accountId: string;
  region: string;
  /** The ECR registry host: <account>.dkr.ecr.<region>.amazonaws.com */
  host: string;
  accessKeyId: string;
  secretAccessKey: string;
  registry: RegistryServer;
  /** The proxyEndpoint: the registry as ECR serves it (immutable tags kept). */
  endpoint: RegistryProxy;
  calls: EcrCall[];
  repositories: Map<string, EcrRepository>;
  /** Environment that points the SDK here (AWS_ENDPOINT_URL_ECR, dummy keys, region). */
  env: Record<string, string>;
  addRepository(name: string): void;
  /** The next `times` calls of `op` fail with this status and __type (throttling, 500s). */
  failNext(op: string, times: number, status: number, type: string): void;
  stop(): Promise<void>;
}

export interface EcrRepository {
  createdAt: number;
  /** As CreateRepository was given it; ECR's default is MUTABLE. */
  imageTagMutability: string;
  /** The tags excepted from it (the _WITH_EXCLUSION variants). */
  imageTagMutabilityExclusionFilters?: Array<{ filterType: string; filter: string }>;
}

/** The values ECR takes for imageTagMutability. */
const TAG_MUTABILITY = ['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION'];

export interface EcrFakeOptions {
  /** A registry started with basic auth for user AWS; started (and stopped) here when absent. */
  registry?: RegistryServer;
  accountId?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

class EcrException extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const sha256hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Verifies an AWS SigV4 Authorization header; returns the access key id or throws an EcrException. */
function verifySigV4(
  req: http.IncomingMessage,
  body: Buffer,
  keys: Record<string, string>,
  region: string,
): string {
  const authz = req.headers.authorization;
  if (!authz)
    throw new EcrException('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authz,
    );
  if (!m)
    throw new EcrException(
      'IncompleteSignatureException',
      'Authorization header requires a valid SigV4 signature',
      403,
    );
  const [, accessKeyId, date, reqRegion, service, signedHeaders, signature] = m as unknown as string[];
  const secret = keys[accessKeyId!];
  if (!secret)
    throw new EcrException(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      403,
    );
  if (service !== 'ecr' || reqRegion !== region)
    throw new EcrException(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region and service 'ecr' in '${region}', not '${reqRegion}/${service}'.`,
      403,
    );
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date!))
    throw new EcrException(
      'InvalidSignatureException',
      'Date in Credential scope does not match X-Amz-Date',
      403,
    );
  const url = new URL(req.url ?? '/', 'http://x');
  const canonicalUri =
    url.pathname
      .split('/')
      .map((p) => encodeRfc3986(decodeURIComponent(p)))
      .join('/') || '/';
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)])
    .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names
    .map((n) => {
      const v = req.headers[n];
      const value = Array.isArray(v) ? v.join(',') : (v ?? '');
      return `${n}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256hex(body));
  const canonicalRequest = [
    req.method,
    canonicalUri,
    query,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${reqRegion}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), reqRegion!), service!), 'aws4_request');
  const expected = hmac(kSigning, toSign).toString('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature!)))
    throw new EcrException(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      403,
    );
  return accessKeyId!;
}

/** Whether ECR keeps `tag` in this repository: its mutability, with the exclusion filters (wildcards). */
export function tagIsImmutable(repo: EcrRepository | undefined, tag: string): boolean {
  if (!repo) return false;
  const excluded = (repo.imageTagMutabilityExclusionFilters ?? []).some((f) =>
    new RegExp(
      `^${f.filter
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(tag),
  );
  switch (repo.imageTagMutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
}

const REPO_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export async function startEcrFake(opts: EcrFakeOptions = {}): Promise<EcrFake> {
  const ownRegistry = !opts.registry;
  const registry =
    opts.registry ??
    (await startRegistry({ auth: 'basic', username: 'AWS', password: `ecr-pw-${Date.now()}` }));
  if (registry.username !== 'AWS' || !registry.password)
    throw new Error("startEcrFake needs a registry started with basic auth for user 'AWS'");
  const accountId = opts.accountId ?? '123456789012';
  const region = opts.region ?? 'eu-west-1';
  const accessKeyId = opts.accessKeyId ?? 'AKIAC2CTESTFAKEKEY01';
  const secretAccessKey = opts.secretAccessKey ?? 'c2c-fake-secret-access-key';
  const host = `${accountId}.dkr.ecr.${region}.amazonaws.com`;
  const calls: EcrCall[] = [];
  const repositories = new Map<string, EcrRepository>();
  const faults: Array<{ op: string; times: number; status: number; type: string }> = [];
  const basic = `Basic ${Buffer.from(`AWS:${registry.password}`).toString('base64')}`;
  const endpoint = await startRegistryProxy(registry.url, {
    paginate: false,
    keep: (name, tag) => tagIsImmutable(repositories.get(name), tag),
  });

  const repoJson = (name: string) => ({
    repositoryArn: `arn:aws:ecr:${region}:${accountId}:repository/${name}`,
    registryId: accountId,
    repositoryName: name,
    repositoryUri: `${host}/${name}`,
    createdAt: repositories.get(name)!.createdAt,
    imageTagMutability: repositories.get(name)!.imageTagMutability,
    ...(repositories.get(name)!.imageTagMutabilityExclusionFilters
      ? { imageTagMutabilityExclusionFilters: repositories.get(name)!.imageTagMutabilityExclusionFilters }
      : {}),
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  });
  const notFound = (name: string) =>
    new EcrException(
      'RepositoryNotFoundException',
      `The repository with name '${name}' does not exist in the registry with id '${accountId}'`,
    );
  const checkRegistryId = (input: Record<string, unknown>) => {
    if (input.registryId !== undefined && input.registryId !== accountId)
      throw new EcrException(
        'AccessDeniedException',
        `User is not authorized to access registry '${String(input.registryId)}'`,
      );
  };
  const reg = async (path: string, method = 'GET') =>
    fetch(`${registry.url}${path}`, {
      method,
      headers: {
        authorization: basic,
        accept: MANIFEST_ACCEPT,
      },
    });

  async function describeImage(name: string, id: { imageTag?: string; imageDigest?: string }) {
    const ref = id.imageDigest ?? id.imageTag;
    const res = ref ? await reg(`/v2/${name}/manifests/${ref}`) : undefined;
    if (!res || res.status === 404)
      throw new EcrException(
        'ImageNotFoundException',
        `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${name}' in the registry with id '${accountId}'`,
      );
    const body = Buffer.from(await res.arrayBuffer());
    const manifest = JSON.parse(body.toString()) as {
      layers?: Array<{ size: number }>;
      config?: { size: number };
    };
    return {
      registryId: accountId,
      repositoryName: name,
      imageDigest: res.headers.get('docker-content-digest') ?? `sha256:${sha256hex(body)}`,
      imageSizeInBytes:
        (manifest.layers ?? []).reduce((s, l) => s + l.size, 0) + (manifest.config?.size ?? 0),
      imagePushedAt: Math.floor(Date.now() / 1000),
      imageManifestMediaType: (res.headers.get('content-type') ?? '').split(';')[0],
    };
  }

  const ops: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {
    GetAuthorizationToken: async () => ({
      authorizationData: [
        {
          authorizationToken: Buffer.from(`AWS:${registry.password}`).toString('base64'),
          expiresAt: Math.floor(Date.now() / 1000) + 12 * 3600,
          proxyEndpoint: endpoint.url,
        },
      ],
    }),
    DescribeRepositories: async (input) => {
      checkRegistryId(input);
      const names = input.repositoryNames as string[] | undefined;
      if (names) {
        for (const n of names) if (!repositories.has(n)) throw notFound(n);
        return { repositories: names.map(repoJson) };
      }
      return { repositories: [...repositories.keys()].sort().map(repoJson) };
    },
    CreateRepository: async (input) => {
      checkRegistryId(input);
      const name = input.repositoryName;
      if (typeof name !== 'string' || name.length < 2 || name.length > 256 || !REPO_NAME.test(name))
        throw new EcrException(
          'InvalidParameterException',
          `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '${REPO_NAME.source}''`,
        );
      if (repositories.has(name))
        throw new EcrException(
          'RepositoryAlreadyExistsException',
          `The repository with name '${name}' already exists in the registry with id '${accountId}'`,
        );
      const mutability = input.imageTagMutability ?? 'MUTABLE';
      if (typeof mutability !== 'string' || !TAG_MUTABILITY.includes(mutability))
        throw new EcrException(
          'InvalidParameterException',
          `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [${TAG_MUTABILITY.join(', ')}]'`,
        );
      const filters = input.imageTagMutabilityExclusionFilters as
        Array<{ filterType?: unknown; filter?: unknown }> | undefined;
      const invalidFilters = (why: string) =>
        new EcrException(
          'InvalidParameterException',
          `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: ${why}`,
        );
      if (filters !== undefined) {
        if (!mutability.endsWith('_WITH_EXCLUSION'))
          throw invalidFilters(
            `'ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as ${mutability}'`,
          );
        if (!Array.isArray(filters) || filters.length < 1 || filters.length > 5)
          throw invalidFilters("'Member must have length between 1 and 5'");
        for (const f of filters) {
          if (f.filterType !== 'WILDCARD')
            throw invalidFilters(`Invalid value for 'filterType': ${String(f.filterType)}`);
          if (typeof f.filter !== 'string' || !/^[0-9a-zA-Z._*-]{1,128}$/.test(f.filter))
            throw invalidFilters(`'filter' must satisfy regular expression '^[0-9a-zA-Z._*-]{1,128}$'`);
        }
      } else if (mutability.endsWith('_WITH_EXCLUSION'))
        throw invalidFilters(
          `'ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as ${mutability}'`,
        );
      repositories.set(name, {
        createdAt: Math.floor(Date.now() / 1000),
        imageTagMutability: mutability,
        ...(filters
          ? { imageTagMutabilityExclusionFilters: filters as Array<{ filterType: string; filter: string }> }
          : {}),
      });
      return { repository: repoJson(name) };
    },
    DescribeImages: async (input) => {
      checkRegistryId(input);
      const name = String(input.repositoryName ?? '');
      if (!repositories.has(name)) throw notFound(name);
      const ids = input.imageIds as Array<{ imageTag?: string; imageDigest?: string }> | undefined;
      const byDigest = new Map<string, Awaited<ReturnType<typeof describeImage>> & { imageTags: string[] }>();
      const add = (d: Awaited<ReturnType<typeof describeImage>>, tag?: string) => {
        const e = byDigest.get(d.imageDigest) ?? { ...d, imageTags: [] };
        if (tag && !e.imageTags.includes(tag)) e.imageTags.push(tag);
        byDigest.set(d.imageDigest, e);
      };
      if (ids) for (const id of ids) add(await describeImage(name, id), id.imageTag);
      else {
        const res = await reg(`/v2/${name}/tags/list`);
        const tags = res.ok ? (((await res.json()) as { tags?: string[] | null }).tags ?? []) : [];
        for (const t of tags) add(await describeImage(name, { imageTag: t }), t);
      }
      return { imageDetails: [...byDigest.values()] };
    },
    BatchGetImage: async (input) => {
      checkRegistryId(input);
      const name = String(input.repositoryName ?? '');
      if (!repositories.has(name)) throw notFound(name);
      const images = [];
      const failures = [];
      for (const id of (input.imageIds as Array<{ imageTag?: string; imageDigest?: string }>) ?? []) {
        const res = await reg(`/v2/${name}/manifests/${id.imageDigest ?? id.imageTag}`);
        if (!res.ok) {
          failures.push({
            imageId: id,
            failureCode: 'ImageNotFound',
            failureReason: 'Requested image not found',
          });
          continue;
        }
        const body = await res.text();
        images.push({
          registryId: accountId,
          repositoryName: name,
          imageId: {
            ...id,
            imageDigest: res.headers.get('docker-content-digest') ?? `sha256:${sha256hex(body)}`,
          },
          imageManifest: body,
          imageManifestMediaType: (res.headers.get('content-type') ?? '').split(';')[0],
        });
      }
      return { images, failures };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.startsWith(ECR_TARGET_PREFIX) ? target.slice(ECR_TARGET_PREFIX.length) : target;
      let input: Record<string, unknown> = {};
      let accessKey: string | undefined;
      const reply = (status: number, json: unknown, errorType?: string) => {
        calls.push({
          op,
          input,
          ...(accessKey ? { accessKeyId: accessKey } : {}),
          status,
          ...(errorType ? { errorType } : {}),
        });
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': `c2c-${calls.length}`,
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        });
        res.end(JSON.stringify(json));
      };
      void (async () => {
        try {
          if (req.method !== 'POST' || (req.url ?? '/') !== '/')
            throw new EcrException(
              'UnknownOperationException',
              `${req.method} ${req.url} is not an ECR operation`,
              404,
            );
          accessKey = verifySigV4(req, body, { [accessKeyId]: secretAccessKey }, region);
          const ct = String(req.headers['content-type'] ?? '');
          if (!ct.startsWith('application/x-amz-json-1.1'))
            throw new EcrException('SerializationException', `Unexpected content type ${ct}`);
          input = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
          const fn = ops[op];
          if (!fn || !target.startsWith(ECR_TARGET_PREFIX))
            throw new EcrException('UnknownOperationException', `Unknown operation ${target}`);
          const fault = faults.find((f) => f.op === op && f.times > 0);
          if (fault) {
            fault.times--;
            throw new EcrException(fault.type, `injected ${fault.type}`, fault.status);
          }
          reply(200, await fn(input));
        } catch (e) {
          if (e instanceof EcrException) reply(e.status, { __type: e.type, message: e.message }, e.type);
          else reply(500, { __type: 'ServerException', message: (e as Error).message }, 'ServerException');
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    accountId,
    region,
    host,
    accessKeyId,
    secretAccessKey,
    registry,
    endpoint,
    calls,
    repositories,
    env: {
      AWS_ENDPOINT_URL_ECR: url,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    addRepository: (name) => {
      if (!repositories.has(name))
        repositories.set(name, { createdAt: Math.floor(Date.now() / 1000), imageTagMutability: 'MUTABLE' });
    },
    failNext: (op, times, status, type) => faults.push({ op, times, status, type }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await endpoint.stop();
      if (ownRegistry) await registry.stop();
    },
  };
}
