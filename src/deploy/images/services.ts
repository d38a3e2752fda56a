import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { C2CError, InputError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { parseImageInput, type ImageReference } from '../../images/index.js';
import { hashFiles } from '../../fingerprint/index.js';
import { GLOB_MAGIC, globPaths } from '../manifests/index.js';
import type { DeployOptions, ServicesOption } from '../inputs.js';

/**
 * One image a deploy builds: the `build-context` one, or one per service of `services`. A
 * service's tag is a content hash (`src-` + 16 hex) over its directory's files, its Dockerfile and
 * the build args (BASE_IMAGE among them): the same inputs give the same tag, so an image under it
 * is this build whatever run pushed it.
 */
export interface BuildSpec extends NonNullable<DeployOptions['build']> {
  /** The service's name (its directory's); for `build-context`, the context directory's name. */
  name: string;
  /** Set for a service of `services`; none for `build-context`. */
  service?: string;
  /** The tag names the content: an image under it is reused as it is (no revision check). */
  contentAddressed: boolean;
}

export const SERVICE_TAG_PREFIX = 'src-';

/** The builds of a deploy: the build-context one, the services (expanded and hashed), or none. */
export async function resolveBuilds(opts: DeployOptions, logger: Logger): Promise<BuildSpec[]> {
  if (opts.build)
    return [{ name: path.basename(opts.build.context), ...opts.build, contentAddressed: false }];
  if (!opts.services) return [];
  const services = await findServices(opts.workspace, opts.services);
  const specs = await Promise.all(
    services.map(async ({ name, dir, dockerfile, image }) => {
      const tag = `${SERVICE_TAG_PREFIX}${(await serviceHash(dir, dockerfile, opts.services!.buildArgs, opts.services!.platforms)).slice(0, 16)}`;
      const pushTo = opts.services!.pushTo;
      return {
        name,
        service: name,
        context: dir,
        dockerfile,
        image,
        ...(pushTo ? { push: serviceRepository('push-to', pushTo, name) } : {}),
        tag,
        buildArgs: opts.services!.buildArgs,
        ...(opts.services!.secrets ? { secrets: opts.services!.secrets } : {}),
        builder: opts.services!.builder,
        platforms: opts.services!.platforms,
        layerCache: opts.services!.layerCache,
        rebuild: opts.services!.rebuild,
        movingTag: false,
        contentAddressed: true,
      };
    }),
  );
  logger.info(
    `${specs.length} service(s): ${specs.map((s) => `${s.name} (${path.relative(opts.workspace, s.context) || '.'}, ${s.tag})`).join(', ')}`,
  );
  return specs;
}

interface FoundService {
  name: string;
  dir: string;
  dockerfile: string;
  image: ImageReference;
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

/**
 * The service directories `services` names: a path must be a directory with a Dockerfile; a glob's
 * directories are services when they hold one (a glob matching none that does is an error). Names
 * are the directories' names, each once; `image` must hold `{service}` when there are several, and
 * give each a valid repository. Every problem is an InputError naming the input and the service.
 */
export async function findServices(workspace: string, opt: ServicesOption): Promise<FoundService[]> {
  const dirs: string[] = [];
  for (const pattern of opt.patterns) {
    if (GLOB_MAGIC.test(pattern)) {
      const matched = (await globPaths(pattern, workspace)).sort();
      const withDockerfile: string[] = [];
      for (const m of matched)
        if ((await isDirectory(m)) && (await isFile(path.resolve(m, opt.dockerfile)))) withDockerfile.push(m);
      if (withDockerfile.length === 0)
        throw new InputError(
          'services',
          `'${pattern}' matches no directory holding ${opt.dockerfile}${matched.length ? ` (it matches ${matched.length} path(s), none with one)` : ''}`,
          'directories of services, each with its Dockerfile, or globs such as services/*',
        );
      dirs.push(...withDockerfile);
      continue;
    }
    const dir = path.resolve(workspace, pattern);
    if (!(await isDirectory(dir)))
      throw new InputError(
        'services',
        `'${pattern}' is not a directory in the workspace`,
        'directories of services, each with its Dockerfile, or globs such as services/*',
      );
    if (!(await isFile(path.resolve(dir, opt.dockerfile))))
      throw new InputError(
        'services',
        `the service '${path.basename(dir)}' ('${pattern}') has no ${opt.dockerfile}`,
        `a ${opt.dockerfile} in each service's directory (or 'dockerfile' naming the one they have)`,
      );
    dirs.push(dir);
  }
  const byName = new Map<string, string>();
  for (const dir of [...new Set(dirs)]) {
    const name = path.basename(dir);
    const other = byName.get(name);
    if (other)
      throw new InputError(
        'services',
        `two services are named '${name}': ${path.relative(workspace, other)} and ${path.relative(workspace, dir)}`,
        'service directories with distinct names (a service is named by its directory)',
      );
    byName.set(name, dir);
  }
  if (byName.size > 1 && !opt.image.includes('{service}'))
    throw new InputError(
      'image',
      `'${opt.image}' has no {service}, but 'services' gives ${byName.size} services (${[...byName.keys()].join(', ')})`,
      "a repository with {service} in it, such as 'ghcr.io/org/shop-{service}'",
    );
  return [...byName].map(([name, dir]) => ({
    name,
    dir,
    dockerfile: path.resolve(dir, opt.dockerfile),
    image: serviceRepository('image', opt.image, name),
  }));
}

/** The repository an input's template (`image`, `push-to`) gives one service. */
function serviceRepository(input: string, template: string, name: string): ImageReference {
  const repository = template.replace(/\{service\}/g, name);
  try {
    return parseImageInput(input, repository, { repositoryOnly: true });
  } catch (e) {
    throw new InputError(
      input,
      `gives '${repository}' for the service '${name}', which is not a valid repository: ${(e as Error).message}`,
      'service directory names that make valid repository names (lower case letters, digits, . _ -)',
    );
  }
}

/**
 * The content hash of one service: its directory's files (content mode), then its Dockerfile (which
 * may live outside the directory), the build args and the platforms, as extra strings. Secrets are
 * not in it.
 */
async function serviceHash(
  dir: string,
  dockerfile: string,
  buildArgs: Array<[string, string]>,
  platforms: readonly string[],
): Promise<string> {
  let content: Buffer;
  try {
    content = await readFile(dockerfile);
  } catch (e) {
    throw new C2CError(`cannot read ${dockerfile}: ${(e as Error).message}`);
  }
  const { hash } = await hashFiles({
    workspace: dir,
    patterns: ['**'],
    mode: 'content',
    extra: [
      `dockerfile sha256:${createHash('sha256').update(content).digest('hex')}`,
      ...[...buildArgs]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `build-arg ${k}=${v}`),
      // Only when set, so the tags of services built for the runner's platform stay as they were.
      ...(platforms.length ? [`platforms ${[...platforms].sort().join(',')}`] : []),
    ],
  });
  return hash;
}
