import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { C2CError, ToolMissingError, exec, ExecError, which, retry } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { parseImageReference } from '../images/index.js';
import {
  defaultContainersAuthFiles,
  hasCredentials,
  registriesConfText,
  writeAuthFile,
  type AuthFile,
  type PushTarget,
} from './auth.js';
import { displayBuildArgs, secretArgs, writeSecretSources } from './secrets.js';
import { TagHeldError } from './errors.js';
import type { BuildResult } from './types.js';
import type { ValidatedRequest } from './validate.js';

export const BUILDAH_INSTALL_HINT = 'install it with `apt-get install -y buildah`';

/**
 * Global buildah options (storage and isolation), the same for build, push and any later buildah
 * call that must see the built images.
 * - storage driver: $C2C_BUILDAH_STORAGE_DRIVER when set; else buildah's configured driver when its
 *   store opens (`buildah info` answers: overlay works natively here), else `vfs` (overlay on
 *   overlay in nested containers);
 * - storage root: $C2C_BUILDAH_ROOT / $C2C_BUILDAH_RUNROOT when set;
 * - isolation (build only): $C2C_BUILDAH_ISOLATION, else $BUILDAH_ISOLATION, else `chroot` (works as
 *   root in a container without a working OCI runtime / cgroup setup).
 */
export interface BuildahStorage {
  driver?: string;
  root?: string;
  runroot?: string;
  isolation: string;
}

const probed = new Map<string, Promise<string | undefined>>();

/** Whether buildah's configured store opens; undefined (use it) or 'vfs' (fallback). Probed once per PATH. */
function probeDriver(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const key = `${env.PATH ?? ''}\0${env.C2C_BUILDAH_ROOT ?? ''}`;
  const known = probed.get(key);
  if (known) return known;
  const p = exec('buildah', ['info', '--format', '{{.store.GraphDriverName}}'], {
    env,
    allowFailure: true,
    timeoutMs: 20_000,
    installHint: BUILDAH_INSTALL_HINT,
  }).then(
    (r) => (r.code === 0 && r.stdout.trim() ? undefined : 'vfs'),
    () => 'vfs',
  );
  probed.set(key, p);
  return p;
}

export async function buildahStorage(env: NodeJS.ProcessEnv = process.env): Promise<BuildahStorage> {
  const driver = env.C2C_BUILDAH_STORAGE_DRIVER || (await probeDriver(env));
  return {
    ...(driver ? { driver } : {}),
    ...(env.C2C_BUILDAH_ROOT ? { root: env.C2C_BUILDAH_ROOT } : {}),
    ...(env.C2C_BUILDAH_RUNROOT ? { runroot: env.C2C_BUILDAH_RUNROOT } : {}),
    isolation: env.C2C_BUILDAH_ISOLATION || env.BUILDAH_ISOLATION || 'chroot',
  };
}

/** The global options (before the subcommand) for a storage. */
export function buildahGlobalArgs(storage: BuildahStorage): string[] {
  const args: string[] = [];
  if (storage.root) args.push('--root', storage.root);
  if (storage.runroot) args.push('--runroot', storage.runroot);
  if (storage.driver) args.push('--storage-driver', storage.driver);
  return args;
}

export interface BuildahFiles {
  /** The auth file (only when some target has credentials). */
  authFile?: string;
  /** Where buildah writes the built image's id. */
  iidFile: string;
  /** Digest file of the i-th push. */
  digestFile: (i: number) => string;
  /** Local manifest list name, for several platforms. */
  manifestName: string;
  /** The file each of the request's secrets is read from (writeSecretSources). */
  secrets?: readonly string[];
}

export interface BuildahCommands {
  /** argv of `buildah … bud …`. */
  build: string[];
  /** argv of each push, in tag order. */
  pushes: Array<{ tag: string; args: string[] }>;
  /** Whether the build makes a manifest list (several platforms). */
  multiPlatform: boolean;
}

function targetFor(host: string, targets: PushTarget[]): PushTarget | undefined {
  return targets.find((t) => t.host === host);
}

/**
 * The buildah command lines for a validated request: a pure function (tested for what it puts on
 * the command line: never a credential). The image (the source of every push) is the one in the
 * iid file for one platform, or the local manifest list for several.
 */
export function buildahArgs(
  req: ValidatedRequest,
  files: BuildahFiles,
  storage: BuildahStorage,
  imageId = '<image-id>',
): BuildahCommands {
  const global = buildahGlobalArgs(storage);
  const platforms = req.platforms ?? [];
  const multiPlatform = platforms.length > 1;
  // Layer caching, except for several platforms: buildah 1.28's cache ignores the platform of a
  // FROM scratch stage, so every platform would get the first one's image.
  const b = [...global, 'bud', ...(multiPlatform ? [] : ['--layers']), '--isolation', storage.isolation];
  b.push('--format', req.format ?? 'oci');
  b.push('-f', req.dockerfile);
  if (files.authFile) b.push('--authfile', files.authFile);
  if (req.cacheRepository && !multiPlatform)
    b.push('--cache-from', req.cacheRepository, '--cache-to', req.cacheRepository);
  for (const [k, v] of req.buildArgs ?? []) b.push('--build-arg', `${k}=${v}`);
  b.push(...secretArgs(req.secrets ?? [], files.secrets));
  if (req.target) b.push('--target', req.target);
  if (platforms.length) b.push('--platform', platforms.join(','));
  for (const [k, v] of Object.entries(req.labels ?? {})) b.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(req.annotations ?? {})) b.push('--annotation', `${k}=${v}`);
  if (req.timestamp !== undefined) b.push('--timestamp', String(Math.floor(req.timestamp)));
  if (multiPlatform) b.push('--manifest', files.manifestName);
  else {
    b.push('--iidfile', files.iidFile);
    for (const t of req.tags) b.push('--tag', t);
  }
  b.push(req.context);

  const pushes = req.tags.map((tag, i) => {
    const host = parseImageReference(tag).registry;
    const target = targetFor(host, req.targets);
    const p = [...global];
    p.push(...(multiPlatform ? ['manifest', 'push', '--all'] : ['push']));
    if (files.authFile) p.push('--authfile', files.authFile);
    p.push('--digestfile', files.digestFile(i));
    if (target?.insecure) p.push('--tls-verify=false');
    // Our retry helper decides about retries (bounded, with backoff). buildah 1.28 takes `--retry 0`
    // as its default of 3, so its own delay is cut to nothing instead.
    if (!multiPlatform) p.push('--retry', '0', '--retry-delay', '1ms');
    if (!multiPlatform && req.format) p.push('--format', req.format === 'docker' ? 'v2s2' : 'oci');
    p.push(multiPlatform ? files.manifestName : imageId, `docker://${tag}`);
    return { tag, args: p };
  });
  return { build: b, pushes, multiPlatform };
}

/** Registry errors worth another attempt: connection problems, 5xx, 429, timeouts. */
function transientPushError(err: unknown): boolean {
  if (!(err instanceof ExecError)) return false;
  const text = `${err.result.stderr}\n${err.result.stdout}`;
  if (/unauthorized|authentication required|denied|forbidden|\b40[134]\b/i.test(text)) return false;
  return /connection refused|connection reset|i\/o timeout|timeout|EOF|no such host|temporary failure|\b50[0234]\b|\b429\b|too many requests|server misbehaving|broken pipe/i.test(
    text,
  );
}

function explainPushError(err: unknown, tag: string, target: PushTarget | undefined): unknown {
  const inner = err instanceof C2CError && err.cause instanceof ExecError ? err.cause : err;
  if (!(inner instanceof ExecError)) return err;
  const text = `${inner.result.stderr}\n${inner.result.stdout}`;
  if (/unauthorized|authentication required|\b401\b|denied|forbidden|\b403\b/i.test(text)) {
    const who =
      target && hasCredentials(target) ? `the credentials of user '${target.username}'` : 'no credentials';
    return new C2CError(
      `Pushing ${tag} was refused by ${target?.host ?? parseImageReference(tag).registry} (unauthorized or denied) with ${who}. Check the registry username and password (or token) and that they may push to this repository.`,
      { cause: err },
    );
  }
  return err;
}

/** The registry's refusal to overwrite a tag it keeps (ECR: TAG_INVALID "... is immutable"). */
function refusedAsImmutable(err: unknown): boolean {
  const inner = err instanceof C2CError && err.cause instanceof ExecError ? err.cause : err;
  if (!(inner instanceof ExecError)) return false;
  return /TAG_INVALID|tag invalid|immutable/i.test(`${inner.result.stderr}\n${inner.result.stdout}`);
}

/**
 * For a tag that never moves: the digest it holds when that is this very image (the same config
 * digests), undefined when it holds nothing; a TagHeldError when it holds another image.
 */
async function heldBy(req: ValidatedRequest, tag: string, configs: string[]): Promise<string | undefined> {
  const held = await req.holding!(tag);
  if (!held) return undefined;
  const ours = [...configs].sort();
  if (held.configs.length === ours.length && held.configs.every((c, i) => c === ours[i])) return held.digest;
  const err = new TagHeldError(tag, held, ours);
  if (req.whenHeld !== 'use') throw err;
  req.logger.warning(
    `another run pushed ${tag} while this one built it: it holds ${held.digest} (image ${held.configs.join(', ')}), this build made image ${ours.join(', ')}; the tag is never moved, so this run uses the image it holds`,
  );
  return held.digest;
}

/**
 * The config digests (image ids) of a local manifest list's images, sorted: the list names each
 * image by its manifest digest, which `buildah images` maps to the image id.
 */
async function manifestListConfigs(
  storage: BuildahStorage,
  env: NodeJS.ProcessEnv,
  name: string,
): Promise<string[]> {
  const global = buildahGlobalArgs(storage);
  const list = JSON.parse(
    (await exec('buildah', [...global, 'manifest', 'inspect', name], { env })).stdout,
  ) as {
    manifests?: Array<{ digest: string }>;
  };
  const images = JSON.parse(
    (await exec('buildah', [...global, 'images', '--json', '--no-trunc'], { env })).stdout,
  ) as Array<{ id: string; digest?: string; digests?: string[] }>;
  const idOf = (digest: string) => {
    const image = images.find((i) => i.digest === digest || (i.digests ?? []).includes(digest));
    if (!image) throw new C2CError(`buildah lists no image for ${digest} of the manifest list ${name}`);
    return image.id.startsWith('sha256:') ? image.id : `sha256:${image.id}`;
  };
  return (list.manifests ?? []).map((m) => idOf(m.digest)).sort();
}

async function readDigest(file: string): Promise<string> {
  const d = (await readFile(file, 'utf8')).trim();
  if (!/^sha256:[a-f0-9]{64}$/.test(d))
    throw new C2CError(`buildah wrote no digest of the pushed image (got '${d}').`);
  return d;
}

/**
 * Builds with buildah and pushes to every tag; credentials only in a 0600 auth file, secret values
 * only in 0600 files of the private work dir, both removed after.
 */
export async function buildahBuildAndPush(req: ValidatedRequest): Promise<BuildResult> {
  const start = Date.now();
  const logger: Logger = req.logger;
  const env = { ...(req.env ?? process.env) };
  if (!(await which('buildah', env.PATH))) throw new ToolMissingError('buildah', BUILDAH_INSTALL_HINT);
  for (const t of req.targets) if (t.password) logger.secret(t.password);
  const storage = await buildahStorage(env);

  let auth: AuthFile | undefined;
  const work = await mkdtemp(path.join(req.tmpDir ?? os.tmpdir(), 'c2c-build-'));
  const manifestName = `localhost/c2c-build-${path.basename(work).toLowerCase()}`;
  try {
    if (req.targets.some(hasCredentials))
      auth = await writeAuthFile(req.targets, {
        mergeFrom: defaultContainersAuthFiles(env),
        ...(req.tmpDir ? { tmpDir: req.tmpDir } : {}),
      });
    const regConf = await registriesConfText(req.targets, env);
    if (regConf) {
      const confPath = path.join(work, 'registries.conf');
      await writeFile(confPath, regConf, { mode: 0o600 });
      env.CONTAINERS_REGISTRIES_CONF = confPath;
    }
    const files: BuildahFiles = {
      ...(auth ? { authFile: auth.path } : {}),
      iidFile: path.join(work, 'iid'),
      digestFile: (i) => path.join(work, `digest-${i}`),
      manifestName,
      secrets: await writeSecretSources(req.secrets ?? [], work),
    };
    const draft = buildahArgs(req, files, storage);
    logger.info(
      `buildah: building ${req.dockerfile} in ${req.context} ` +
        `(storage ${storage.driver ?? 'as configured'}, isolation ${storage.isolation})`,
    );
    await exec('buildah', draft.build, {
      env,
      logger,
      stream: true,
      installHint: BUILDAH_INSTALL_HINT,
      displayArgs: displayBuildArgs(draft.build),
    });
    const imageId = draft.multiPlatform ? files.manifestName : (await readFile(files.iidFile, 'utf8')).trim();
    const commands = buildahArgs(req, files, storage, imageId);

    const digests: string[] = [];
    // This build's config digests, read once, and only when an immutable tag is asked about.
    let configs: Promise<string[]> | undefined;
    const ours = () =>
      (configs ??= draft.multiPlatform
        ? manifestListConfigs(storage, env, manifestName)
        : Promise.resolve([imageId]));
    for (const [i, push] of commands.pushes.entries()) {
      const target = targetFor(parseImageReference(push.tag).registry, req.targets);
      const immutable = !!req.holding && (req.immutableTags ?? []).includes(push.tag);
      if (immutable) {
        const held = await heldBy(req, push.tag, await ours());
        if (held) {
          logger.info(`buildah: not pushing ${push.tag}: the registry has it already, as ${held}`);
          digests.push(held);
          continue;
        }
      }
      logger.info(`buildah: pushing ${push.tag}`);
      try {
        await retry(
          `pushing ${push.tag}`,
          () => exec('buildah', push.args, { env, logger, stream: true, installHint: BUILDAH_INSTALL_HINT }),
          {
            attempts: 3,
            baseDelayMs: 1000,
            deadlineMs: 5 * 60_000,
            retryable: transientPushError,
            onRetry: (_e, attempt, delay) =>
              logger.warning(`Pushing ${push.tag} failed (attempt ${attempt}); retrying in ${delay} ms.`),
          },
        );
      } catch (err) {
        // A registry that keeps tags (ECR IMMUTABLE) refused: another run pushed it meanwhile.
        if (immutable && refusedAsImmutable(err)) {
          const held = await heldBy(req, push.tag, await ours());
          if (held) {
            logger.info(`buildah: ${push.tag} was pushed meanwhile by another run, as ${held}`);
            digests.push(held);
            continue;
          }
        }
        throw explainPushError(err, push.tag, target);
      }
      digests.push(await readDigest(files.digestFile(i)));
    }
    const digest = digests[0]!;
    if (digests.some((d) => d !== digest))
      logger.warning(
        `The tags were pushed with different digests: ${digests.join(', ')}; reporting ${digest}.`,
      );
    logger.info(`buildah: pushed ${req.tags.join(', ')} as ${digest}`);
    return { digest, builder: 'buildah', durationMs: Date.now() - start };
  } finally {
    // The local manifest list of a multi-platform build is ours alone (its name is unique).
    if ((req.platforms?.length ?? 0) > 1)
      await exec('buildah', [...buildahGlobalArgs(storage), 'manifest', 'rm', manifestName], {
        env,
        allowFailure: true,
      }).catch(() => undefined);
    await auth?.cleanup();
    await rm(work, { recursive: true, force: true });
  }
}
