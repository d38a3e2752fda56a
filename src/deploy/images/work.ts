import { C2CError, InputError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import {
  canonicalName,
  formatReference,
  isLoopbackHost,
  parseImageReference,
  type ImageReference,
} from '../../images/index.js';
import { connectRegistry, type Registry } from '../../registry/index.js';
import { buildAndPush, resolveBuilder, sourceDateEpoch } from '../../builder/index.js';
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

/**
 * The image steps a deploy and a render both go through: substitute `images` (and the image to
 * build) into the objects, pin every other image to its digest, build and push, pin the built one.
 */
export interface ImageWork {
  /** The image this run builds, as substituted into the manifests (repository:tag). */
  buildRef?: ImageReference;
  changes: ImageChange[];
  registryFor: (host: string) => Promise<Registry>;
  image: string;
  digest: string;
}

/** Substitutes `images` (and the image to build) into the objects: every entry must match a container. */
export function substituteAll(opts: DeployOptions, targets: ImageTarget[], logger: Logger): ImageWork {
  const build = opts.build;
  const buildRef: ImageReference | undefined = build ? { ...build.image, tag: build.tag } : undefined;
  const entries = [...opts.images.map(formatReference)];
  if (buildRef && !opts.images.some((i) => canonicalName(i) === canonicalName(buildRef))) {
    requireContainerOf(targets, buildRef);
    entries.push(formatReference(buildRef));
  }
  const changes = entries.length
    ? substituteImages(targets, entries, {
        onSkip: (image, why) => logger.warning(`image '${image}' left as it is: ${why}`),
      })
    : [];
  // Registries: one connection per host. Credentials go only to the registry of `image`; without a
  // build, to the registry of the `images` entries when they all name one (never to several).
  const entryHosts = [...new Set(opts.images.map((i) => i.registry))];
  const credsHost = build ? build.image.registry : entryHosts.length === 1 ? entryHosts[0] : undefined;
  if (opts.username && !credsHost)
    logger.warning(
      `'registry-username' is set, but the images entries name ${entryHosts.length} registries: the credentials are sent to none of them`,
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
  return { ...(buildRef ? { buildRef } : {}), changes, registryFor, image: '', digest: '' };
}

/** The image to build must be the image of some container: else the input `image` is wrong. */
function requireContainerOf(targets: ImageTarget[], ref: ImageReference): void {
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
    'image',
    `'${repo}' is the repository of no container in the manifests, so the built image would replace nothing`,
    `the repository a container's image names, exactly, registry host and port included${repos.size ? `: ${[...repos].sort().slice(0, 20).join(', ')}` : ''}`,
  );
}

/** Whether a change substitutes the image this run builds. */
function isBuilt(work: ImageWork, c: ImageChange): boolean {
  if (!work.buildRef) return false;
  const ref = parseImageReference(c.to.includes('@') ? c.to.slice(0, c.to.indexOf('@')) : c.to);
  return canonicalName(ref) === canonicalName(work.buildRef) && ref.tag === work.buildRef.tag;
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
  if (!opts.pinDigests) return;
  const changes = work.changes.filter((c) => (which === 'built') === isBuilt(work, c));
  if (!changes.some((c) => !c.to.includes('@'))) return;
  await logger.group(which === 'built' ? 'Pin the built image' : 'Pin images to digests', async () => {
    await pinDigests(targets, changes, async (_reference, ref) => {
      if (which === 'built') return work.digest;
      const reg = await work.registryFor(ref.registry);
      const found = await reg.head(ref.repository, ref.tag ?? 'latest');
      if (!found) throw new C2CError(`image ${formatReference(ref)} does not exist in its registry`);
      return found.digest;
    });
    for (const c of changes) logger.info(describeChange(c));
  });
}

const REVISION_LABEL = 'org.opencontainers.image.revision';

/**
 * The image to build exists already as `image:tag`, built from this revision: it is used as it is
 * (one HEAD, then its config's revision label), so a re-run rebuilds nothing and restarts nothing.
 * An image under that tag built from another revision (a moving tag such as `latest`) is rebuilt.
 * `rebuild: true` always builds. Returns whether it was reused (then work.image and work.digest are set).
 */
export async function reuseBuiltImage(
  opts: DeployOptions,
  ctx: DeployContext,
  work: ImageWork,
): Promise<boolean> {
  const build = opts.build;
  const buildRef = work.buildRef;
  if (!build || !buildRef || build.rebuild) return false;
  const reg = await work.registryFor(build.image.registry);
  const found = await reg.head(build.image.repository, build.tag);
  if (!found) return false;
  const label = ctx.revision
    ? (await reg.imageConfig(build.image.repository, found.digest)).labels[REVISION_LABEL]
    : undefined;
  if (ctx.revision && label !== ctx.revision) {
    ctx.logger.info(
      `${formatReference(buildRef)} exists, but was built from ${label ? `revision ${label}` : 'an unknown revision'}, not ${ctx.revision}: building it again`,
    );
    return false;
  }
  work.digest = found.digest;
  work.image = `${formatReference({ registry: build.image.registry, repository: build.image.repository })}@${found.digest}`;
  ctx.logger.info(
    `${formatReference(buildRef)} exists already (${found.digest}): not built again (set 'rebuild' to build anyway)`,
  );
  return true;
}

/**
 * Builds the app image and pushes it to `image` (a registry change: after every check). The build
 * is reproducible: the created time and file times are the commit's (sourceDateEpoch), so the same
 * commit gives the same digest.
 */
export async function buildImage(opts: DeployOptions, ctx: DeployContext, work: ImageWork): Promise<void> {
  const build = opts.build;
  const buildRef = work.buildRef;
  if (!build || !buildRef) return;
  const { logger } = ctx;
  const epoch = ctx.sourceDateEpoch ?? (await sourceDateEpoch(build.context, ctx.revision));
  if (epoch === undefined)
    logger.warning(
      'the build is not reproducible: no SOURCE_DATE_EPOCH and no git commit time for the build context, so it stamps the current time',
    );
  await logger.group(`Build and push ${formatReference(buildRef)}`, async () => {
    const builder = await resolveBuilder(build.builder, logger);
    const reg = await work.registryFor(build.image.registry);
    await reg.ensureRepository(build.image.repository);
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
      if (baseHost !== build.image.registry && isLoopbackHost(baseHost))
        targets.push({ host: baseHost, insecure: true });
    }
    const labels: Record<string, string> = {
      'org.opencontainers.image.created': new Date(
        epoch !== undefined ? epoch * 1000 : (ctx.now ?? Date.now)(),
      ).toISOString(),
    };
    if (ctx.revision) labels[REVISION_LABEL] = ctx.revision;
    if (ctx.source) labels['org.opencontainers.image.source'] = ctx.source;
    const built = await buildAndPush(
      {
        context: build.context,
        dockerfile: build.dockerfile,
        tags: [`${reg.endpointHost}/${build.image.repository}:${build.tag}`],
        buildArgs: build.buildArgs,
        ...(build.secrets ? { secrets: build.secrets } : {}),
        labels,
        targets,
        logger,
        ...(epoch !== undefined ? { timestamp: epoch } : {}),
        inputNames: {
          dockerfile: 'dockerfile',
          context: 'build-context',
          buildArgs: 'build-args',
          secrets: 'secrets',
          secretFiles: 'secret-files',
        },
      },
      builder,
    );
    work.digest = built.digest;
    work.image = `${formatReference({ registry: build.image.registry, repository: build.image.repository })}@${built.digest}`;
    logger.info(`pushed ${work.image}`);
  });
}

/** Registers the deploy's secrets with the logger before anything can print them. */
export function registerSecrets(opts: DeployOptions, logger: Logger): void {
  if (opts.password) logger.secret(opts.password);
  if (opts.token) logger.secret(opts.token);
}
