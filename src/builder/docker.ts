import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { C2CError, ToolMissingError, exec, ExecError, which, retry } from '../core/index.js';
import { hasCredentials, writeAuthFile, type AuthFile } from './auth.js';
import { displayBuildArgs, secretArgs, writeSecretSources } from './secrets.js';
import type { BuildResult } from './types.js';
import type { ValidatedRequest } from './validate.js';

export const DOCKER_INSTALL_HINT =
  'install Docker Engine with the buildx plugin (https://docs.docker.com/engine/install/), or use the buildah builder (`apt-get install -y buildah`)';

export interface DockerFiles {
  /** Where buildx writes its metadata (containerimage.digest). */
  metadataFile: string;
  /** The file each of the request's secrets is read from (writeSecretSources). */
  secrets?: readonly string[];
}

/**
 * The `docker buildx build` command line for a validated request: a pure function. Credentials are
 * never on it; they reach buildx through DOCKER_CONFIG (config.json, 0600); secrets are named by id
 * and file (`--secret id=…,src=…`). Pushes with
 * `--push`, or an image output with registry.insecure=true when a target is a plain-http loopback
 * registry. No provenance attestation unless asked for, so one platform gives a plain manifest digest.
 */
export function dockerArgs(req: ValidatedRequest, files: DockerFiles): string[] {
  // buildx's default (min) provenance would make an index of every image: none unless asked for.
  const a = [
    'buildx',
    'build',
    '--progress',
    'plain',
    `--provenance=${req.attestations?.provenance ? 'mode=max' : 'false'}`,
  ];
  a.push('-f', req.dockerfile);
  for (const t of req.tags) a.push('--tag', t);
  for (const [k, v] of req.buildArgs ?? []) a.push('--build-arg', `${k}=${v}`);
  a.push(...secretArgs(req.secrets ?? [], files.secrets));
  if (req.target) a.push('--target', req.target);
  if (req.platforms?.length) a.push('--platform', req.platforms.join(','));
  for (const [k, v] of Object.entries(req.labels ?? {})) a.push('--label', `${k}=${v}`);
  // Manifest annotations; with several platforms the index carries them too.
  const annotationTypes = (req.platforms?.length ?? 0) > 1 ? 'manifest,index' : 'manifest';
  for (const [k, v] of Object.entries(req.annotations ?? {}))
    a.push('--annotation', `${annotationTypes}:${k}=${v}`);
  if (req.cacheRepository) {
    // mode=max caches every stage's layers; image-manifest + OCI media types: what ECR stores.
    const insecure = req.targets.some((t) => t.insecure) ? ',registry.insecure=true' : '';
    a.push('--cache-from', `type=registry,ref=${req.cacheRepository}:buildcache${insecure}`);
    a.push(
      '--cache-to',
      `type=registry,ref=${req.cacheRepository}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true${insecure}`,
    );
  }
  // The `sbom` input: buildx's SBOM attestation, in the pushed index beside the image.
  if (req.attestations?.sbom) a.push('--sbom=true');
  if (req.targets.some((t) => t.insecure)) a.push('--output', 'type=image,push=true,registry.insecure=true');
  else a.push('--push');
  a.push('--metadata-file', files.metadataFile);
  a.push(req.context);
  return a;
}

/**
 * A private DOCKER_CONFIG: the user's config.json (builders, contexts, credential helpers kept)
 * with our credentials added, and links to the user's buildx/, cli-plugins/ and contexts/ so that a
 * builder made by setup-buildx-action is still found.
 */
export async function dockerConfigDir(
  req: ValidatedRequest,
  env: NodeJS.ProcessEnv,
): Promise<AuthFile | undefined> {
  if (!req.targets.some(hasCredentials)) return undefined;
  const original = env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), '.docker');
  const auth = await writeAuthFile(req.targets, {
    mergeFrom: [path.join(original, 'config.json')],
    ...(req.tmpDir ? { tmpDir: req.tmpDir } : {}),
  });
  let cfg: Record<string, unknown> = {};
  try {
    cfg = JSON.parse(await readFile(path.join(original, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    /* none */
  }
  const ours = JSON.parse(await readFile(auth.path, 'utf8')) as { auths: Record<string, unknown> };
  const credHelpers = { ...((cfg.credHelpers as Record<string, string> | undefined) ?? {}) };
  for (const t of req.targets) if (hasCredentials(t)) delete credHelpers[t.host];
  const merged: Record<string, unknown> = { ...cfg, auths: ours.auths, credHelpers };
  // A credential store would override the file's auths for every host, ours included.
  if (merged.credsStore) {
    req.logger.debug('docker: the credential store of the user config is not used for this build');
    delete merged.credsStore;
  }
  await writeFile(auth.path, JSON.stringify(merged, null, 2) + '\n', { mode: 0o600 });
  for (const sub of ['buildx', 'cli-plugins', 'contexts']) {
    const from = path.join(original, sub);
    if (existsSync(from)) await symlink(from, path.join(auth.dir, sub));
  }
  return auth;
}

/** Builds and pushes with docker buildx; the digest comes from the metadata file. */
export async function dockerBuildAndPush(req: ValidatedRequest): Promise<BuildResult> {
  const start = Date.now();
  const logger = req.logger;
  const env = { ...(req.env ?? process.env) };
  if (!(await which('docker', env.PATH))) throw new ToolMissingError('docker', DOCKER_INSTALL_HINT);
  for (const t of req.targets) if (t.password) logger.secret(t.password);
  if (req.timestamp !== undefined) env.SOURCE_DATE_EPOCH = String(Math.floor(req.timestamp));
  const work = await mkdtemp(path.join(req.tmpDir ?? os.tmpdir(), 'c2c-build-'));
  let auth: AuthFile | undefined;
  try {
    auth = await dockerConfigDir(req, env);
    if (auth) env.DOCKER_CONFIG = auth.dir;
    const files: DockerFiles = {
      metadataFile: path.join(work, 'metadata.json'),
      secrets: await writeSecretSources(req.secrets ?? [], work),
    };
    const args = dockerArgs(req, files);
    logger.info(`docker buildx: building ${req.dockerfile} in ${req.context}`);
    await retry(
      'docker buildx build --push',
      () =>
        exec('docker', args, {
          env,
          logger,
          stream: true,
          installHint: DOCKER_INSTALL_HINT,
          displayArgs: displayBuildArgs(args),
        }),
      {
        attempts: 2,
        baseDelayMs: 2000,
        deadlineMs: 10 * 60_000,
        retryable: (e) =>
          e instanceof ExecError &&
          /failed to push|connection reset|i\/o timeout|\b50[234]\b|\b429\b/i.test(e.result.stderr) &&
          !/unauthorized|denied|forbidden/i.test(e.result.stderr),
      },
    );
    const meta = JSON.parse(await readFile(files.metadataFile, 'utf8')) as Record<string, unknown>;
    const digest = meta['containerimage.digest'];
    if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new C2CError(`docker buildx wrote no image digest to its metadata file (${files.metadataFile}).`);
    logger.info(`docker buildx: pushed ${req.tags.join(', ')} as ${digest}`);
    return { digest, builder: 'docker', durationMs: Date.now() - start };
  } finally {
    await auth?.cleanup();
    await rm(work, { recursive: true, force: true });
  }
}
