import path from 'node:path';
import { C2CError, errorMessage, formatDuration, monotonicMs } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { canonicalName, formatReference, isLoopbackHost, repositoryName, withTag } from '../images/index.js';
import {
  describeManifestDiff,
  diffManifests,
  encodeManifestLabel,
  hashFiles,
  toManifest,
  writeManifest,
} from '../fingerprint/index.js';
import type { Registry } from '../registry/index.js';
import type { CacheStore } from '../github/index.js';
import type { HashBaseOptions } from './inputs.js';
import { attestSecrets } from '../builder/index.js';
import { findPreviousBase, LABEL_CREATED, LABEL_HASH, LABEL_MANIFEST } from './previous.js';

export { LABEL_HASH, LABEL_MANIFEST } from './previous.js';

export interface HashBaseContext {
  logger: Logger;
  /** Where the hash manifest is written (RUNNER_TEMP in the action). */
  manifestDir: string;
  /** The Actions cache, for check: cache (only the action has one). */
  cache?: CacheStore;
  /** Commit and source URL for the OCI labels. */
  revision?: string;
  source?: string;
  /** The run's URL: who built it, in a provenance. */
  runUrl?: string;
  now?: () => Date;
}

export interface Phase {
  name: string;
  ms: number;
  detail?: string;
}

export interface HashBaseResult {
  hash: string;
  tag: string;
  imageRef: string;
  needsBuild: boolean;
  built: boolean;
  digest: string;
  filesCount: number;
  changed: string[];
  /** Why a build is (or is not) needed, in words. */
  reason: string;
  /** The base the changes were measured against, when one was found. */
  previous?: string;
  manifestPath: string;
  mode: string;
  phases: Phase[];
}

async function timed<T>(phases: Phase[], name: string, fn: () => Promise<T>): Promise<T> {
  const start = monotonicMs();
  try {
    return await fn();
  } finally {
    phases.push({ name, ms: monotonicMs() - start });
  }
}

/**
 * The engine of action-hash-base: hash the dependency files, decide whether the base image exists,
 * and build and push it only when it does not. Inputs are already validated (parseHashBaseInputs).
 */
export async function runHashBase(opts: HashBaseOptions, ctx: HashBaseContext): Promise<HashBaseResult> {
  const { logger } = ctx;
  const phases: Phase[] = [];
  if (opts.check === 'cache' && !ctx.cache)
    throw new C2CError(
      "check 'cache' needs the GitHub Actions cache, which only the action has; use check 'registry' or 'none' here",
    );
  if (opts.password) logger.secret(opts.password);
  for (const s of opts.secrets ?? []) if ('value' in s) logger.secret(s.value);
  for (const s of attestSecrets(opts.attest)) logger.secret(s);

  const repository = opts.image?.repository ?? '';
  let registry: Promise<Registry> | undefined;
  const connect = (): Promise<Registry> => {
    // The registry client and the builders (and the network and process modules under them) load
    // only when they are used: hashing alone needs none of them. One connection serves every phase
    // (connectRegistry retries what is transient; a registry it could not reach is not tried again).
    registry ??= import('../registry/index.js').then(({ connectRegistry }) =>
      connectRegistry(opts.image!.registry, {
        logger,
        ...(opts.username ? { username: opts.username } : {}),
        ...(opts.password ? { password: opts.password } : {}),
      }),
    );
    return registry;
  };
  // With check 'registry' the registry is reached while the files hash: the handshake, the ping and
  // any token round trip overlap the hashing instead of following it. Its failure is met where the
  // registry is first used (the check below); a hashing error comes first and wins.
  if (opts.check === 'registry' && opts.image) connect().catch(() => undefined);

  const hashed = await timed(phases, 'hash', () =>
    logger.group(`Hash (${opts.mode})`, () =>
      hashFiles({
        workspace: opts.workspace,
        patterns: opts.patterns,
        mode: opts.mode,
        extra: opts.extra,
        allowEmpty: opts.allowEmpty,
        logger,
      }),
    ),
  );
  const manifest = toManifest(hashed);
  const manifestPath = await writeManifest(manifest, ctx.manifestDir);
  logger.info(
    `hash ${hashed.hash || '(empty)'} over ${hashed.files.length} file(s); manifest: ${manifestPath}`,
  );

  const tag = hashed.hash ? `${opts.tagPrefix}${hashed.hash.slice(0, 16)}` : '';
  const imageRef = opts.image && tag ? formatReference(withTag(opts.image, tag)) : '';
  const result: HashBaseResult = {
    hash: hashed.hash,
    tag,
    imageRef,
    needsBuild: false,
    built: false,
    digest: '',
    filesCount: hashed.files.length,
    changed: [],
    reason: '',
    manifestPath,
    mode: opts.mode,
    phases,
  };
  if (!hashed.hash) {
    result.reason = 'no file matched the patterns (allow-empty): nothing to build';
    return result;
  }

  await timed(phases, 'check', async () => {
    if (opts.check === 'none') {
      result.needsBuild = true;
      result.reason = "check is 'none': always build";
    } else if (opts.check === 'cache') {
      const key = `${opts.tagPrefix}${hashed.hash}`;
      const hit = await ctx.cache!.exists(key);
      result.needsBuild = !hit;
      result.reason = hit ? `the Actions cache has an entry for ${key}` : `no Actions cache entry for ${key}`;
      if (hit && opts.image) {
        // The digest output holds whenever the image exists: one HEAD reads it. An image gone from
        // the registry (deleted, the cache entry kept) is rebuilt; a registry that cannot be read
        // leaves the cache's decision standing.
        try {
          const found = await (await connect()).head(repository, tag);
          if (found) result.digest = found.digest;
          else {
            result.needsBuild = true;
            result.reason = `${result.reason}, but ${imageRef} does not exist in the registry`;
          }
        } catch (e) {
          logger.warning(
            `the Actions cache has an entry for ${key}, but could not read the digest of ${imageRef} (the digest output stays empty): ${errorMessage(e)}`,
          );
        }
      }
    } else if (!opts.image) {
      result.needsBuild = true;
      result.reason = 'no image given: nothing to check, so a build is assumed needed';
    } else {
      const reg = await connect();
      const found = await reg.head(repository, tag);
      result.needsBuild = !found;
      if (found) result.digest = found.digest;
      result.reason = found ? `${imageRef} exists (${found.digest})` : `${imageRef} does not exist yet`;
    }
  });
  logger.info(`decision: ${result.needsBuild ? 'build' : 'skip'} (${result.reason})`);
  if (!result.needsBuild) return result;

  if (opts.image) {
    await timed(phases, 'changes', async () => {
      try {
        const reg = await connect();
        const prev = await findPreviousBase(reg, repository, {
          tagPrefix: opts.tagPrefix,
          currentTag: tag,
          logger,
        });
        if (prev) {
          result.previous = `${repositoryName(opts.image!)}:${prev.tag}`;
          result.changed = describeManifestDiff(diffManifests(prev.manifest, manifest));
          logger.info(
            `changed since ${result.previous} (built ${prev.created}):\n${result.changed.map((c) => `  ${c}`).join('\n') || '  (nothing in the files)'}`,
          );
        } else logger.info('no earlier base with a hash manifest in the registry');
      } catch (e) {
        // Why is a nicety: a registry that cannot list tags must not stop the build.
        logger.warning(`could not compare with earlier bases: ${errorMessage(e)}`);
      }
    });
  }

  if (!opts.build) return result;
  const image = opts.image!;
  const { buildAndPush, resolveBuilder } = await import('../builder/index.js');
  const { ensureCacheRepository, tagHolding } = await import('../registry/index.js');
  const supply = opts.attest ? await import('../supplychain/index.js') : undefined;
  // The key is read before the build: a wrong password fails the step before anything is pushed.
  const attest = await supply?.readAttest(opts.attest, { workspace: opts.workspace });
  const builder = await resolveBuilder(opts.builder, logger);
  const syft = await supply?.syftFor(attest, builder);
  await timed(phases, 'build', () =>
    logger.group(`Build and push ${imageRef} (${builder})`, async () => {
      const reg = await connect();
      // deps-<hash> never moves; the extra tags (e.g. latest) do.
      await reg.ensureRepository(repository, opts.extraTags);
      // The layer cache: a base rebuilt after a dependency change reuses the steps before it.
      const cache = opts.layerCache ? await ensureCacheRepository(reg, image.repository) : undefined;
      const creds = await reg.credentials();
      const pushRef = (t: string) => `${reg.endpointHost}/${image.repository}:${t}`;
      const labels: Record<string, string> = {
        [LABEL_CREATED]: (ctx.now?.() ?? new Date()).toISOString(),
        [LABEL_HASH]: hashed.hash,
        [LABEL_MANIFEST]: encodeManifestLabel(manifest),
      };
      if (ctx.revision) labels['org.opencontainers.image.revision'] = ctx.revision;
      if (ctx.source) labels['org.opencontainers.image.source'] = ctx.source;
      const built = await buildAndPush(
        {
          context: opts.context,
          dockerfile: opts.dockerfile,
          tags: [tag, ...opts.extraTags].map(pushRef),
          // deps-<hash> never moves: pushed meanwhile by another run, its image is the one used.
          immutableTags: [pushRef(tag)],
          holding: () => tagHolding(reg, image.repository, tag),
          whenHeld: 'use',
          buildArgs: opts.buildArgs,
          ...(opts.secrets ? { secrets: opts.secrets } : {}),
          ...(opts.target ? { target: opts.target } : {}),
          platforms: opts.platforms,
          ...(cache ? { cacheRepository: cache } : {}),
          labels,
          targets: [
            {
              host: reg.endpointHost,
              insecure: reg.insecure || isLoopbackHost(reg.endpointHost),
              ...(creds ? { username: creds.username, password: creds.password } : {}),
            },
          ],
          logger,
          inputNames: { buildArgs: 'build-args', secrets: 'secrets', secretFiles: 'secret-files' },
          ...(attest ? { attestations: { sbom: attest.sbom, provenance: attest.provenance } } : {}),
        },
        builder,
      );
      result.digest = built.digest;
      result.built = true;
      logger.info(`pushed ${canonicalName(image)}:${tag}@${built.digest}`);
      const finished = (ctx.now?.() ?? new Date()).getTime();
      await supply?.attestPushed(attest, reg, repository, built.digest, {
        builder,
        ...(syft ? { syft } : {}),
        logger,
        facts: () =>
          supply.buildFacts({
            ...(ctx.runUrl ? { runUrl: ctx.runUrl } : {}),
            ...(ctx.source ? { source: ctx.source } : {}),
            ...(ctx.revision ? { revision: ctx.revision } : {}),
            context: path.relative(opts.workspace, opts.context) || '.',
            contextDir: opts.context,
            dockerfile: opts.dockerfile,
            ...(opts.target ? { target: opts.target } : {}),
            platforms: opts.platforms,
            buildArgs: opts.buildArgs,
            durationMs: built.durationMs,
            now: finished,
          }),
      });
    }),
  );
  if (opts.check === 'cache') {
    // The image is pushed: a cache entry that could not be saved costs the next run a registry-free
    // skip, not this run its result.
    await timed(phases, 'cache save', async () => {
      try {
        await ctx.cache!.save(`${opts.tagPrefix}${hashed.hash}`, manifestPath);
      } catch (e) {
        logger.warning(
          `the base image was pushed, but the Actions cache entry could not be saved: ${errorMessage(e)}`,
        );
      }
    });
  }
  return result;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');
}

/** The job summary: hash, mode, files, decision and why, phase durations, image and digest. */
export function renderHashBaseSummary(r: HashBaseResult): string {
  const rows: Array<[string, string]> = [
    [
      'Decision',
      r.needsBuild ? (r.built ? 'built and pushed' : 'build needed') : 'skip: base image up to date',
    ],
    ['Why', r.reason],
    ['Hash', r.hash ? `\`${r.hash}\`` : '(empty)'],
    ['Mode', r.mode],
    ['Files', String(r.filesCount)],
  ];
  if (r.imageRef) rows.push(['Image', `\`${r.imageRef}\``]);
  if (r.digest) rows.push(['Digest', `\`${r.digest}\``]);
  if (r.previous) rows.push(['Compared with', `\`${r.previous}\``]);
  if (r.changed.length) rows.push(['Changed', r.changed.join('\n')]);
  for (const p of r.phases) rows.push([`Time: ${p.name}`, formatDuration(p.ms)]);
  return [
    '### Base image',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
  ].join('\n');
}
