import { C2CError, ToolMissingError, exec, which } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { BUILDAH_INSTALL_HINT, buildahBuildAndPush } from './buildah.js';
import { DOCKER_INSTALL_HINT, dockerBuildAndPush } from './docker.js';
import type { BuilderChoice, BuilderName, BuildRequest, BuildResult } from './types.js';
import { registerBuildSecrets } from './secrets.js';
import { validateBuildRequest } from './validate.js';

export type {
  BuildRequest,
  BuildResult,
  BuilderChoice,
  BuilderName,
  BuildInputNames,
  BuildSecret,
  TagHolding,
} from './types.js';
export { TagHeldError } from './errors.js';
export { looksSecret, displayBuildArgs } from './secrets.js';
export type { PushTarget, AuthFile, AuthFileOptions } from './auth.js';
export { writeAuthFile, validateTargets, registriesConfText, defaultContainersAuthFiles } from './auth.js';
export {
  buildahArgs,
  buildahStorage,
  buildahGlobalArgs,
  BUILDAH_INSTALL_HINT,
  type BuildahCommands,
  type BuildahFiles,
  type BuildahStorage,
} from './buildah.js';
export { dockerArgs, dockerConfigDir, DOCKER_INSTALL_HINT, type DockerFiles } from './docker.js';
export { validateBuildRequest, type ValidatedRequest } from './validate.js';

export interface ResolveOptions {
  /** Environment (PATH) to look for the tools in. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Bound of the `docker info` probe. Default 5 s. */
  probeTimeoutMs?: number;
}

async function dockerAnswers(
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ ok: boolean; why: string }> {
  const info = await exec('docker', ['info', '--format', '{{.ServerVersion}}'], {
    env,
    allowFailure: true,
    timeoutMs,
  }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (info.code !== 0 || !info.stdout.trim()) {
    const why =
      info.code === 128 || info.code === 137
        ? `did not answer within ${timeoutMs} ms`
        : (info.stderr.trim().split('\n').pop() ?? 'no answer');
    return { ok: false, why: `the Docker daemon is not reachable (${why})` };
  }
  const bx = await exec('docker', ['buildx', 'version'], { env, allowFailure: true, timeoutMs }).catch(
    () => ({
      code: -1,
    }),
  );
  if (bx.code !== 0) return { ok: false, why: 'the docker buildx plugin is not installed' };
  return { ok: true, why: `Docker ${info.stdout.trim()} with buildx` };
}

/**
 * Which builder to use. `auto`: docker when its daemon answers (`docker info`, bounded) and buildx is
 * there, else buildah. An explicitly chosen builder that cannot run is an error naming what is
 * missing and how to install it (ToolMissingError).
 */
export async function resolveBuilder(
  choice: BuilderChoice,
  logger: Logger,
  opts: ResolveOptions = {},
): Promise<BuilderName> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.probeTimeoutMs ?? 5_000;
  if (choice === 'buildah') {
    if (!(await which('buildah', env.PATH))) throw new ToolMissingError('buildah', BUILDAH_INSTALL_HINT);
    return 'buildah';
  }
  const hasDocker = !!(await which('docker', env.PATH));
  if (choice === 'docker') {
    if (!hasDocker) throw new ToolMissingError('docker', DOCKER_INSTALL_HINT);
    const probe = await dockerAnswers(env, timeoutMs);
    if (!probe.ok) {
      if (probe.why.includes('buildx')) throw new ToolMissingError('docker buildx', DOCKER_INSTALL_HINT);
      throw new C2CError(
        `The docker builder was chosen but ${probe.why}. Start Docker, or use the buildah builder.`,
      );
    }
    return 'docker';
  }
  if (choice !== 'auto')
    throw new C2CError(`Unknown builder '${String(choice)}'. Expected auto, docker or buildah.`);
  if (hasDocker) {
    const probe = await dockerAnswers(env, timeoutMs);
    if (probe.ok) {
      logger.info(`builder auto: docker (${probe.why})`);
      return 'docker';
    }
    logger.info(`builder auto: buildah, since ${probe.why}`);
  } else logger.info('builder auto: buildah, since docker is not installed');
  if (!(await which('buildah', env.PATH)))
    throw new ToolMissingError(
      'buildah',
      `${BUILDAH_INSTALL_HINT}; or install Docker with buildx and start its daemon (builder: auto found neither)`,
    );
  return 'buildah';
}

/**
 * Validates the request (context, dockerfile, tags, args, targets: nothing runs when one is wrong),
 * then builds and pushes to every tag with the given builder. Credentials reach the builder only
 * through a private 0600 auth file, secret values through private 0600 files, all removed
 * afterwards; the builder's output is streamed to the logger, which masks the passwords, the
 * secrets and the values of build args whose names look secret (each of those with a warning).
 */
export async function buildAndPush(req: BuildRequest, builder: BuilderName): Promise<BuildResult> {
  const valid = await validateBuildRequest(req);
  await registerBuildSecrets(valid, valid.logger);
  if (builder === 'buildah') return buildahBuildAndPush(valid);
  if (builder === 'docker') return dockerBuildAndPush(valid);
  throw new C2CError(`Unknown builder '${String(builder)}'. Expected docker or buildah.`);
}
export { BUILD_INPUT_DEFS, attestSecrets, parseBuildCommon, type AttestInputs } from './inputs.js';
export { sourceDateEpoch } from './source-date.js';
