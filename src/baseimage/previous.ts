import { eachLimit, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { decodeManifestLabel, type HashManifest } from '../fingerprint/index.js';
import type { Registry } from '../registry/index.js';

/** Image labels the base image carries, so the next run can say why it rebuilds. */
export const LABEL_HASH = 'dev.commit-to-cloud.hash';
export const LABEL_MANIFEST = 'dev.commit-to-cloud.hash-manifest';
export const LABEL_CREATED = 'org.opencontainers.image.created';

/**
 * At most this many earlier bases are read (a manifest and its config each) to find the newest.
 * Hash tags are random and registries list tags lexically, so the listing says nothing about age:
 * every tag with the prefix is a candidate, up to this bound. Documented with the `changed` output.
 */
export const MAX_PREVIOUS_READS = 200;
/** Reads in flight at once. */
const CONCURRENCY = 8;

const HASH_TAG = /^[0-9a-f]{16}$/;

export interface PreviousBase {
  tag: string;
  manifest: HashManifest;
  /** When it was built, as its image says. */
  created: string;
}

export interface FindPreviousOptions {
  tagPrefix: string;
  /** This run's tag: never its own previous base. */
  currentTag: string;
  logger: Logger;
  /** Default MAX_PREVIOUS_READS. */
  maxReads?: number;
}

/** Milliseconds since the epoch of an RFC 3339 time, or undefined when there is none. */
function timeOf(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The newest earlier base of this repository that carries a hash manifest, if any: every tag with
 * the prefix and a hash after it (the tag list read whole, page by page), each image's config read
 * (at most `maxReads` of them, a few at a time), and the newest picked by the label
 * org.opencontainers.image.created (the time of the build), else the config's `created`. Times are
 * compared as times, not as text. Images without a hash manifest or a time, or that cannot be read,
 * are passed over.
 */
export async function findPreviousBase(
  registry: Registry,
  repository: string,
  opts: FindPreviousOptions,
): Promise<PreviousBase | undefined> {
  const { logger, tagPrefix } = opts;
  const maxReads = opts.maxReads ?? MAX_PREVIOUS_READS;
  const tags = (await registry.listTags(repository)).filter(
    (t) => t !== opts.currentTag && t.startsWith(tagPrefix) && HASH_TAG.test(t.slice(tagPrefix.length)),
  );
  if (tags.length === 0) return undefined;
  let candidates = tags;
  if (tags.length > maxReads) {
    candidates = tags.slice(0, maxReads);
    logger.info(
      `${tags.length} earlier bases in ${repository}: reading ${maxReads} of them (the registry's listing order decides which), so the newest of those is compared with`,
    );
  }
  let best: (PreviousBase & { time: number }) | undefined;
  await eachLimit(candidates, CONCURRENCY, async (tag) => {
    try {
      const cfg = await registry.imageConfig(repository, tag);
      const label = cfg.labels[LABEL_MANIFEST];
      if (!label) return;
      const created =
        timeOf(cfg.labels[LABEL_CREATED]) !== undefined ? cfg.labels[LABEL_CREATED]! : cfg.created;
      const time = timeOf(created);
      if (time === undefined) {
        logger.debug(`earlier base ${tag}: no creation time, passed over`);
        return;
      }
      // Equal times: the greater tag, so that the answer does not depend on the order of replies.
      if (best && (time < best.time || (time === best.time && tag < best.tag))) return;
      best = { tag, manifest: decodeManifestLabel(label), created: created!, time };
    } catch (e) {
      logger.debug(`earlier base ${tag}: ${errorMessage(e)}`);
    }
  });
  return best && { tag: best.tag, manifest: best.manifest, created: best.created };
}
