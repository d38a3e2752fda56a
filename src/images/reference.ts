import { InputError } from '../core/index.js';

/**
 * The one image-reference parser (the grammar of distribution/reference): registry host with an
 * optional port, a path of lowercase components, an optional tag, an optional digest. The host is
 * normalised first (lowercase; index.docker.io and registry-1.docker.io are docker.io), then Docker
 * Hub names (nginx, index.docker.io/nginx -> docker.io/library/nginx) for comparison; they keep
 * their familiar form when formatted.
 */
export interface ImageReference {
  /** Registry host, with port when given: docker.io, ghcr.io, 127.0.0.1:5000, [::1]:5000. */
  registry: string;
  /** Path within the registry: library/nginx, org/app-base. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const HOST =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

export class ImageReferenceError extends Error {
  override name = 'ImageReferenceError';
}

function fail(value: string, why: string): never {
  throw new ImageReferenceError(`'${value}' is not a valid image reference: ${why}`);
}

/** Docker Hub's other names. */
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io']);

/**
 * A registry host as it is compared: lowercase (host names are case-insensitive), and Docker Hub's
 * other names (index.docker.io, registry-1.docker.io) as docker.io.
 */
export function normalizeRegistryHost(host: string): string {
  const h = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

/** Parses an image reference; throws ImageReferenceError saying what is wrong. */
export function parseImageReference(value: string): ImageReference {
  const s = value.trim();
  if (!s) fail(value, 'it is empty');
  if (/\s/.test(s)) fail(value, 'it contains whitespace');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest))
      fail(value, `'${digest}' is not a digest (algorithm:hex, e.g. sha256: and 64 hex characters)`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))
      fail(value, 'a sha256 digest has 64 lowercase hex characters');
  }
  // The tag is after the last ':' that follows the last '/': a ':' before a '/' is a port.
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      fail(
        value,
        `'${tag}' is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (
    parts.length > 1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    parts.shift();
    if (!HOST.test(first)) fail(value, `'${first}' is not a valid registry host`);
    registry = normalizeRegistryHost(first);
  }
  if (parts.length === 0 || parts.some((p) => p === ''))
    fail(value, 'the repository path is empty or has an empty component');
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      const why = /[A-Z]/.test(p)
        ? 'repository names must be lowercase'
        : 'use lowercase letters, digits and separators . _ __ -';
      fail(value, `path component '${p}': ${why}`);
    }
  }
  let repository = parts.join('/');
  // After the host is normalised: index.docker.io/nginx is docker.io/library/nginx too.
  if (registry === DOCKER_HUB && parts.length === 1) repository = `library/${repository}`;
  if (`${registry}/${repository}`.length > 255) fail(value, 'the name is longer than 255 characters');
  return {
    registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** Parses a reference for an input, turning errors into an InputError that names the input. */
export function parseImageInput(
  input: string,
  value: string,
  opts: { repositoryOnly?: boolean } = {},
): ImageReference {
  let ref: ImageReference;
  try {
    ref = parseImageReference(value);
  } catch (e) {
    throw new InputError(
      input,
      (e as Error).message,
      "a reference such as 'ghcr.io/org/app', '127.0.0.1:5000/app' or '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app'",
    );
  }
  if (opts.repositoryOnly && (ref.tag !== undefined || ref.digest !== undefined)) {
    const what = ref.digest ? `digest '${ref.digest}'` : `tag '${ref.tag}'`;
    throw new InputError(
      input,
      `'${value}' already carries a ${what}`,
      `a repository without tag or digest, e.g. '${repositoryName(ref)}'`,
    );
  }
  return ref;
}

/** registry/repository, the familiar Docker Hub form kept (nginx, org/app). */
export function repositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  if (ref.registry === DOCKER_HUB)
    return ref.repository.startsWith('library/') ? ref.repository.slice(8) : ref.repository;
  return `${ref.registry}/${ref.repository}`;
}

/** The fully qualified name, for comparing two references: docker.io/library/nginx. */
export function canonicalName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

export function withTag(ref: ImageReference, tag: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** ECR registry hosts: <account>.dkr.ecr.<region>.amazonaws.com(.cn), FIPS variants included. */
export function parseEcrHost(host: string): { accountId: string; region: string } | undefined {
  const m = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(
    host.replace(/:\d+$/, ''),
  );
  return m ? { accountId: m[1]!, region: m[2]! } : undefined;
}

/** Plain http is allowed only for loopback registries. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
