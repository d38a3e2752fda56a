import path from 'node:path';
import { C2CError, InputError, ProblemsError, eachLimit, errorMessage } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import {
  canonicalName,
  formatReference,
  isLoopbackHost,
  parseImageReference,
  type ImageReference,
} from '../../images/index.js';
import { connectRegistry, ensureCacheRepository, tagHolding, type Registry } from '../../registry/index.js';
import { attestSecrets, buildAndPush, resolveBuilder, sourceDateEpoch } from '../../builder/index.js';
import {
  describeChange,
  pinDigests,
  substituteImages,
  type ImageChange,
  type ImageTarget,
} from './substitute.js';
import type { DeployOptions } from '../inputs.js';
import { containersOf } from '../objects.js';
import type { DeployContext } from '../types.js';
import { podSpecOf } from '../kinds/index.js';
import type { BuildSpec } from './services.js';
import {
  attestPushed,
  buildFacts,
  checkSignature,
  signatureProblem,
  syftFor,
  type AttestPlan,
  type IdentityVerifier,
  type Verifier,
} from '../../supplychain/index.js';

/** One image this run builds (build-context, or a service): where it goes, and once known, what it is. */
export interface BuildWork {
  readonly spec: BuildSpec;
  /** The image as substituted into the manifests (repository:tag). */
  readonly ref: ImageReference;
  /** repository@digest and the digest, once built or found in the registry. */
  image: string;
  digest: string;
  /** Found in the registry under its tag: not built by this run. */
  reused: boolean;
}

/**
 * The image steps a deploy and a render both go through: substitute `images` (and the images to
 * build) into the objects, pin every other image to its digest, build and push, pin the built ones.
 */
export interface ImageWork {
  builds: BuildWork[];
  changes: ImageChange[];
  registryFor: (host: string) => Promise<Registry>;
  /** What goes with every pushed image (`sbom`, `provenance`, `sign-key`), its key read. */
  attest?: AttestPlan;
  /** `verify-key` / `verify-identity`: every image of the set must be signed by it. */
  verifier?: Verifier | IdentityVerifier;
}

/** Substitutes `images` (and the images to build) into the objects: every entry must match a container. */
export function substituteAll(
  opts: DeployOptions,
  specs: BuildSpec[],
  targets: ImageTarget[],
  logger: Logger,
): ImageWork {
  const builds: BuildWork[] = specs.map((spec) => ({
    spec,
    ref: { ...spec.image, tag: spec.tag },
    image: '',
    digest: '',
    reused: false,
  }));
  const entries = [...opts.images.map(formatReference)];
  for (const { ref, spec } of builds)
    if (!opts.images.some((i) => canonicalName(i) === canonicalName(ref))) {
      requireContainerOf(targets, ref, spec.service);
      entries.push(formatReference(ref));
    }
  const changes = entries.length
    ? substituteImages(targets, entries, {
        onSkip: (image, why) => logger.warning(`image '${image}' left as it is: ${why}`),
      })
    : [];
  // Registries: one connection per host. Credentials go only to the registry of `image`; without a
  // build, to the registry of the `images` entries when they all name one (never to several).
  const entryHosts = [...new Set(opts.images.map((i) => i.registry))];
  const buildHosts = [...new Set(specs.map((b) => (b.push ?? b.image).registry))];
  const hosts = buildHosts.length ? buildHosts : entryHosts;
  const credsHost = hosts.length === 1 ? hosts[0] : undefined;
  if (opts.username && !credsHost)
    logger.warning(
      `'registry-username' is set, but the ${buildHosts.length ? 'images to build' : 'images entries'} name ${hosts.length} registries: the credentials are sent to none of them`,
    );
  const registries = new Map<string, Promise<Registry>>();
  const registryFor = (host: string) => {
    let r = registries.get(host);
    if (!r) {
      const withCreds = credsHost === host && opts.username;
      r = connectRegistry(host, {
        logger,
        ...(withCreds ? { username: opts.username!, password: opts.password ?? '' } : {}),
      });
      registries.set(host, r);
    }
    return r;
  };
  return { builds, changes, registryFor };
}

/** The image to build must be the image of some container: else the input `image` is wrong. */
function requireContainerOf(targets: ImageTarget[], ref: ImageReference, service?: string): void {
  const repos = new Set<string>();
  for (const t of targets)
    for (const { container } of containersOf(podSpecOf(t.object))) {
      if (typeof container.image !== 'string') continue;
      try {
        const r = parseImageReference(container.image);
        if (canonicalName(r) === canonicalName(ref)) return;
        repos.add(formatReference({ registry: r.registry, repository: r.repository }));
      } catch {
        // a malformed image in a manifest is reported where images are substituted
      }
    }
  const repo = formatReference({ registry: ref.registry, repository: ref.repository });
  throw new InputError(
    service ? 'services' : 'image',
    service
      ? `the service '${service}' is pushed to '${repo}', the repository of no container in the manifests, so its image would replace nothing`
      : `'${repo}' is the repository of no container in the manifests, so the built image would replace nothing`,
    `the repository a container's image names, exactly, registry host and port included${repos.size ? `: ${[...repos].sort().slice(0, 20).join(', ')}` : ''}`,
  );
}

/** The build that pushes `ref` (repository:tag), if this run builds it. */
function buildFor(work: ImageWork, ref: ImageReference): BuildWork | undefined {
  return work.builds.find((b) => canonicalName(ref) === canonicalName(b.ref) && ref.tag === b.ref.tag);
}

/** The build whose image a change substitutes, if it is one this run builds. */
function buildOf(work: ImageWork, c: ImageChange): BuildWork | undefined {
  if (work.builds.length === 0) return undefined;
  return buildFor(work, parseImageReference(c.to.includes('@') ? c.to.slice(0, c.to.indexOf('@')) : c.to));
}

/** The step's one image (build-context, or a single service), as the `image` and `digest` outputs give it. */
export function theImage(work: ImageWork): { image: string; digest: string } {
  const one = work.builds.length === 1 ? work.builds[0] : undefined;
  return { image: one?.image ?? '', digest: one?.digest ?? '' };
}

/**
 * Resolves substituted tags to digests (pin-digests): `which` = 'others' before the build (every
 * image but the one this run builds), 'built' after it.
 */
export async function pinImages(
  opts: DeployOptions,
  targets: ImageTarget[],
  work: ImageWork,
  which: 'others' | 'built',
  logger: Logger,
): Promise<void> {
  if (which === 'built') return placeBuilt(opts, targets, work, logger);
  if (!opts.pinDigests) return;
  const changes = work.changes.filter((c) => !buildOf(work, c));
  if (!changes.some((c) => !c.to.includes('@'))) return;
  await logger.group('Pin images to digests', async () => {
    await pinDigests(targets, changes, async (_reference, ref) => {
      const reg = await work.registryFor(ref.registry);
      const found = await reg.head(ref.repository, ref.tag ?? 'latest');
      if (!found) throw new C2CError(`image ${formatReference(ref)} does not exist in its registry`);
      return found.digest;
    });
    for (const c of changes) logger.info(describeChange(c));
  });
}

/**
 * The images whose digest is known (built, or found under their tag) go into the containers that
 * were given `image:tag`: pinned, `repository@digest`, or with pin-digests false `repository:tag`,
 * where the repository is the one that holds it (`image`, or `push-to` for one this run pushed there).
 */
async function placeBuilt(
  opts: DeployOptions,
  targets: ImageTarget[],
  work: ImageWork,
  logger: Logger,
): Promise<void> {
  const placed: ImageChange[] = [];
  for (const c of work.changes) {
    const b = buildOf(work, c);
    if (!b?.digest) continue;
    const at = b.image.indexOf('@');
    const to = opts.pinDigests ? b.image : `${b.image.slice(0, at)}:${b.spec.tag}`;
    if (to === c.to) continue;
    for (const t of targets)
      for (const { container } of containersOf(podSpecOf(t.object)))
        if (container.image === c.to) container.image = to;
    c.to = to;
    placed.push(c);
  }
  if (placed.length)
    await logger.group('Pin the built images', async () => {
      for (const c of placed) logger.info(describeChange(c));
    });
}

const REVISION_LABEL = 'org.opencontainers.image.revision';

/**
 * Which images to build are in the registry already, each found with one HEAD, in parallel. A
 * service's tag is its content hash: an image under it is that build, used as it is. The
 * build-context image is used when its config's revision label is this revision, so a re-run
 * rebuilds nothing and restarts nothing; one built from another revision (a moving tag such as
 * `latest`) is rebuilt. `rebuild: true` always builds. Sets image, digest and reused on each found;
 * returns those still to build.
 */
export async function reuseBuiltImages(ctx: DeployContext, work: ImageWork): Promise<BuildWork[]> {
  const found = await Promise.all(work.builds.map((b) => (b.spec.rebuild ? false : reuseOne(ctx, work, b))));
  return work.builds.filter((_, i) => !found[i]);
}

async function reuseOne(ctx: DeployContext, work: ImageWork, b: BuildWork): Promise<boolean> {
  const { spec } = b;
  // `image` first (main's, read only), then `push-to` (where this kind of run pushes).
  for (const where of spec.push ? [spec.image, spec.push] : [spec.image])
    if (await reuseFrom(ctx, work, b, where)) return true;
  return false;
}

async function reuseFrom(
  ctx: DeployContext,
  work: ImageWork,
  b: BuildWork,
  where: ImageReference,
): Promise<boolean> {
  const { spec } = b;
  const reg = await work.registryFor(where.registry);
  const found = await reg.head(where.repository, spec.tag);
  if (!found) return false;
  if (!spec.contentAddressed && ctx.revision) {
    const label = (await reg.imageConfig(where.repository, found.digest)).labels[REVISION_LABEL];
    if (label !== ctx.revision) {
      ctx.logger.info(
        `${formatReference(b.ref)} exists, but was built from ${label ? `revision ${label}` : 'an unknown revision'}, not ${ctx.revision}: building it again`,
      );
      return false;
    }
  }
  const missing = await missingPlatforms(reg, { ...spec, image: where }, found.digest);
  if (missing.length) {
    const what = `${formatReference(b.ref)} exists, but not for ${missing.join(', ')}`;
    if (!spec.movingTag)
      throw new C2CError(
        `${what}, and a content tag is never moved. Set 'tag' to a new tag to build for ${spec.platforms.join(', ')}, or delete this one in the registry.`,
      );
    ctx.logger.info(`${what}: building it again`);
    return false;
  }
  b.digest = found.digest;
  b.image = `${formatReference({ registry: where.registry, repository: where.repository })}@${found.digest}`;
  b.reused = true;
  ctx.logger.info(
    `${formatReference({ ...where, tag: spec.tag })} exists already (${found.digest}): not built again (set 'rebuild' to build anyway)`,
  );
  return true;
}

/** The platforms of `spec.platforms` the image at `digest` (an index or one image) has no image for. */
async function missingPlatforms(reg: Registry, spec: BuildSpec, digest: string): Promise<string[]> {
  if (!spec.platforms.length) return [];
  const { json } = await reg.getManifest(spec.image.repository, digest);
  const has = new Set<string>();
  const name = (p: { os?: string; architecture?: string; variant?: string }) =>
    [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
  if (Array.isArray(json?.manifests)) {
    for (const m of json.manifests as Array<{
      platform?: { os?: string; architecture?: string; variant?: string };
    }>)
      if (m.platform) has.add(name(m.platform));
  } else {
    const { config } = await reg.imageConfig(spec.image.repository, digest);
    has.add(name(config as { os?: string; architecture?: string; variant?: string }));
  }
  // linux/arm64 and linux/arm64/v8 are the same platform.
  const norm = (p: string) => p.replace(/^(\w+\/arm64)\/v8$/, '$1');
  const present = new Set([...has].map(norm));
  return spec.platforms.filter((p) => !present.has(norm(p)));
}

/**
 * Builds the images in `which` and pushes each to its repository (a registry change: after every
 * check), `parallel` at a time. Every build runs to its end; when any failed, one error names each
 * failed service with the end of its build's log, and the deploy applies nothing. The builds are
 * reproducible: the created time and file times are the commit's (sourceDateEpoch), so the same
 * commit gives the same digest.
 */
export async function buildImages(
  ctx: DeployContext,
  work: ImageWork,
  which: BuildWork[],
  parallel: number,
): Promise<void> {
  if (which.length === 0) return;
  const { logger } = ctx;
  if (which.length === 1) {
    const b = which[0]!;
    await logger.group(`Build and push ${formatReference(b.ref)}`, () => buildOne(ctx, work, b, logger));
    return;
  }
  const failures: C2CError[] = [];
  await logger.group(
    `Build and push ${which.length} images, ${Math.min(parallel, which.length)} at a time`,
    () =>
      eachLimit(which, parallel, async (b) => {
        try {
          await buildOne(ctx, work, b, prefixed(logger, `[${b.spec.name}] `));
        } catch (e) {
          failures.push(
            new C2CError(`service '${b.spec.name}' (${formatReference(b.ref)}): ${errorMessage(e)}`, {
              cause: e,
            }),
          );
        }
      }),
  );
  if (failures.length)
    throw new ProblemsError(
      `${failures.length} of ${which.length} image(s) failed to build; nothing was applied:\n${failures.map((f) => `  ${f.message.split('\n').join('\n    ')}`).join('\n')}`,
      failures,
    );
}

/** A logger whose lines start with `prefix` (one build's among several). */
function prefixed(logger: Logger, prefix: string): Logger {
  return {
    ...logger,
    debug: (m) => logger.debug(prefix + m),
    info: (m) => logger.info(prefix + m),
    warning: (m, w) => logger.warning(prefix + m, w),
    error: (m, w) => logger.error(prefix + m, w),
    group: (_name, fn) => fn(),
  };
}

async function buildOne(ctx: DeployContext, work: ImageWork, b: BuildWork, logger: Logger): Promise<void> {
  const { spec: build } = b;
  const epoch = ctx.sourceDateEpoch ?? (await sourceDateEpoch(build.context, ctx.revision));
  if (epoch === undefined)
    logger.warning(
      'the build is not reproducible: no SOURCE_DATE_EPOCH and no git commit time for the build context, so it stamps the current time',
    );
  const builder = await resolveBuilder(build.builder, logger);
  const syft = await syftFor(work.attest, builder);
  // Where it goes: `push-to` when given, else `image`.
  const to = build.push ?? build.image;
  const reg = await work.registryFor(to.registry);
  // A content tag (src-…, the default sha-…) never moves; a tag the user chose may (e.g. latest).
  await reg.ensureRepository(to.repository, build.movingTag ? [build.tag] : []);
  const cache = build.layerCache ? await ensureCacheRepository(reg, to.repository) : undefined;
  const creds = await reg.credentials();
  const targets = [
    {
      host: reg.endpointHost,
      insecure: reg.insecure || isLoopbackHost(reg.endpointHost),
      ...(creds ? { username: creds.username, password: creds.password } : {}),
    },
  ];
  // The base image's registry, when it is another one, is where the build pulls FROM.
  const base = build.buildArgs.find(([k]) => k === 'BASE_IMAGE')?.[1];
  if (base) {
    const baseHost = parseImageReference(base).registry;
    if (baseHost !== to.registry && isLoopbackHost(baseHost))
      targets.push({ host: baseHost, insecure: true });
  }
  const labels: Record<string, string> = {
    'org.opencontainers.image.created': new Date(
      epoch !== undefined ? epoch * 1000 : (ctx.now ?? Date.now)(),
    ).toISOString(),
  };
  if (ctx.revision) labels[REVISION_LABEL] = ctx.revision;
  if (ctx.source) labels['org.opencontainers.image.source'] = ctx.source;
  const pushTag = `${reg.endpointHost}/${to.repository}:${build.tag}`;
  const built = await buildAndPush(
    {
      context: build.context,
      dockerfile: build.dockerfile,
      tags: [pushTag],
      ...(build.platforms.length ? { platforms: build.platforms } : {}),
      ...(cache ? { cacheRepository: cache } : {}),
      // A content tag never moves: after `rebuild` another image under it is an error; without,
      // it was pushed by another run while this one built, and that image is used.
      ...(build.movingTag
        ? {}
        : {
            immutableTags: [pushTag],
            holding: () => tagHolding(reg, to.repository, build.tag),
            whenHeld: build.rebuild ? ('fail' as const) : ('use' as const),
          }),
      buildArgs: build.buildArgs,
      ...(build.secrets ? { secrets: build.secrets } : {}),
      ...(work.attest
        ? { attestations: { sbom: work.attest.sbom, provenance: work.attest.provenance } }
        : {}),
      labels,
      targets,
      logger,
      ...(epoch !== undefined ? { timestamp: epoch } : {}),
      inputNames: {
        dockerfile: 'dockerfile',
        context: build.service ? 'services' : 'build-context',
        buildArgs: 'build-args',
        secrets: 'secrets',
        secretFiles: 'secret-files',
        platforms: 'platforms',
      },
    },
    builder,
  );
  b.digest = built.digest;
  b.image = `${formatReference({ registry: to.registry, repository: to.repository })}@${built.digest}`;
  logger.info(`pushed ${b.image}`);
  const finished = (ctx.now ?? Date.now)();
  await attestPushed(work.attest, reg, to.repository, built.digest, {
    builder,
    ...(syft ? { syft } : {}),
    logger,
    facts: () =>
      buildFacts({
        ...(ctx.audit?.runUrl ? { runUrl: ctx.audit.runUrl } : {}),
        ...(ctx.source ? { source: ctx.source } : {}),
        ...(ctx.revision ? { revision: ctx.revision } : {}),
        context: build.service ? `services: ${build.service}` : path.basename(build.context),
        contextDir: build.context,
        dockerfile: build.dockerfile,
        platforms: build.platforms,
        buildArgs: build.buildArgs,
        durationMs: built.durationMs,
        now: finished,
      }),
  });
}

/**
 * `verify-key`: every image the objects run (pinned to a digest by now), except those of `skip` (to
 * be built: checked once pushed), must carry a valid signature by the key. One error names each that
 * does not, with what was found; nothing has been applied.
 */
export async function verifySignatures(
  work: ImageWork,
  targets: ImageTarget[],
  logger: Logger,
  skip: (image: string) => boolean = () => false,
): Promise<void> {
  const verifier = work.verifier;
  if (!verifier) return;
  const images = new Set<string>();
  for (const t of targets)
    for (const { container } of containersOf(podSpecOf(t.object)))
      if (typeof container.image === 'string' && !skip(container.image)) images.add(container.image);
  if (images.size === 0) return;
  const problems: string[] = [];
  await Promise.all(
    [...images].sort().map(async (image) => {
      let ref: ImageReference;
      try {
        ref = parseImageReference(image);
      } catch {
        problems.push(signatureProblem(image, 'not an image reference'));
        return;
      }
      if (!ref.digest) {
        problems.push(
          signatureProblem(image, 'not pinned to a digest, so no signature can vouch for what runs'),
        );
        return;
      }
      try {
        const why = await checkSignature(
          await work.registryFor(ref.registry),
          ref.repository,
          ref.digest,
          verifier,
        );
        if (why) problems.push(signatureProblem(image, why));
      } catch (e) {
        problems.push(signatureProblem(image, `its signatures could not be read: ${errorMessage(e)}`));
      }
    }),
  );
  if (problems.length)
    throw new C2CError(
      `verify-key: ${problems.length} of ${images.size} image(s) are not signed by ${verifier.describe}; nothing was applied:\n${problems
        .sort()
        .map((p) => `  - ${p}`)
        .join('\n')}`,
    );
  logger.info(`verify-key: ${images.size} image(s) signed by ${verifier.describe}`);
}

/** Registers the deploy's secrets with the logger before anything can print them. */
export function registerSecrets(opts: DeployOptions, logger: Logger): void {
  if (opts.password) logger.secret(opts.password);
  if (opts.token) logger.secret(opts.token);
  for (const s of attestSecrets(opts.attest)) logger.secret(s);
}
