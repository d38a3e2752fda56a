import { C2CError, InputError, eachLimit } from '../../core/index.js';
import {
  canonicalName,
  formatReference,
  parseImageReference,
  type ImageReference,
} from '../../images/index.js';
import type { KubeObject } from '../../kube/index.js';
import { formatWhere } from '../manifests/index.js';
import {
  asString,
  containersOf,
  kindOf,
  nameOf,
  namespaceOf,
  type CONTAINER_LISTS,
  type JsonObject,
} from '../objects.js';
import { podSpecOf } from '../kinds/index.js';

/**
 * The `images` input: each entry is an image reference whose repository (registry host with its
 * port, and path; Docker Hub names normalised so `nginx` is `docker.io/library/nginx`) picks the
 * containers to change, and whose tag and/or digest replaces theirs:
 * - an entry with a tag only sets that tag and drops a digest the manifest had;
 * - an entry with a digest pins it (the manifest's old tag is dropped: a tag next to a digest it
 *   does not name would only mislead); an entry with tag and digest sets both.
 * The repository is written back exactly as the manifest wrote it (`nginx` stays `nginx`).
 * Containers, init containers and ephemeral containers of Pods, Deployments, StatefulSets,
 * DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs and PodTemplates are covered.
 * Images that no entry names are left as they are. An entry that matches no container anywhere is
 * an error (a typo guard), and so is a malformed one: all are checked before anything changes.
 */

export interface ImageEntry {
  /** The entry as the user wrote it. */
  input: string;
  ref: ImageReference;
  canonical: string;
}

export interface ImageChange {
  kind: string;
  namespace?: string;
  name: string;
  container: string;
  /** containers, initContainers or ephemeralContainers. */
  list: (typeof CONTAINER_LISTS)[number];
  from: string;
  to: string;
  /** The entry of `images` that matched. */
  entry: string;
  file?: string;
  line?: number;
}

export interface ImageTarget {
  object: KubeObject;
  file?: string;
  line?: number;
}

const EXPECTED_ENTRY =
  "references with a tag or digest, one per line, e.g. 'ghcr.io/org/app:1.4.2', '127.0.0.1:5000/app@sha256:<64 hex>' or 'nginx:1.27'";

/** Parses and checks every entry of `images`: malformed, tag-less or conflicting entries are one error. */
export function parseImageEntries(entries: string[]): ImageEntry[] {
  const problems: string[] = [];
  const out: ImageEntry[] = [];
  const byRepo = new Map<string, ImageEntry>();
  for (const raw of entries) {
    const input = raw.trim();
    if (!input) continue;
    let ref: ImageReference;
    try {
      ref = parseImageReference(input);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (ref.tag === undefined && ref.digest === undefined) {
      problems.push(`'${input}' has no tag or digest, so there is nothing to substitute`);
      continue;
    }
    const entry: ImageEntry = { input, ref, canonical: canonicalName(ref) };
    const prev = byRepo.get(entry.canonical);
    if (prev) {
      if (formatReference(prev.ref) !== formatReference(ref))
        problems.push(`'${prev.input}' and '${input}' name the same repository with different versions`);
      continue;
    }
    byRepo.set(entry.canonical, entry);
    out.push(entry);
  }
  if (problems.length === 1) throw new InputError('images', problems[0]!, EXPECTED_ENTRY);
  if (problems.length > 1)
    throw new InputError(
      'images',
      `${problems.length} entries are wrong:\n${problems.map((p) => `  ${p}`).join('\n')}\n`,
      EXPECTED_ENTRY,
    );
  return out;
}

/** The text of an image reference before its tag and digest, as written: `127.0.0.1:5000/app`, `nginx`. */
export function repositoryText(image: string): string {
  let s = image.trim();
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) s = s.slice(0, colon);
  return s;
}

/** The new image text for a container that an entry matched. */
export function substitutedImage(containerImage: string, entry: ImageReference): string {
  const repo = repositoryText(containerImage);
  const tag = entry.tag !== undefined ? `:${entry.tag}` : '';
  const digest = entry.digest !== undefined ? `@${entry.digest}` : '';
  return `${repo}${tag}${digest}`;
}

interface Match {
  target: ImageTarget;
  container: JsonObject;
  change: ImageChange;
}

/**
 * Substitutes the entries into every container image they match. Validates first (malformed
 * entries, entries matching nothing), then changes the objects in place. Returns one change per
 * container matched (from === to when it already had that version).
 */
export function substituteImages(
  targets: ImageTarget[],
  entries: string[] | ImageEntry[],
  opts: { onSkip?: (image: string, why: string) => void } = {},
): ImageChange[] {
  const parsed: ImageEntry[] =
    entries.length > 0 && typeof entries[0] === 'string'
      ? parseImageEntries(entries as string[])
      : (entries as ImageEntry[]);
  if (parsed.length === 0) return [];
  const byRepo = new Map(parsed.map((e) => [e.canonical, e]));
  const used = new Set<string>();
  const seenImages = new Set<string>();
  const matches: Match[] = [];
  for (const target of targets) {
    const obj = target.object;
    for (const { list, container } of containersOf(podSpecOf(obj))) {
      const image = asString(container.image);
      if (!image) continue;
      let ref: ImageReference;
      try {
        ref = parseImageReference(image);
      } catch (e) {
        opts.onSkip?.(image, (e as Error).message);
        continue;
      }
      const canonical = canonicalName(ref);
      seenImages.add(repositoryText(image));
      const entry = byRepo.get(canonical);
      if (!entry) continue;
      used.add(canonical);
      matches.push({
        target,
        container,
        change: {
          kind: kindOf(obj),
          // Read when asked: the deploy places the object (gives it its namespace) after this.
          get namespace() {
            return namespaceOf(obj);
          },
          name: nameOf(obj),
          container: asString(container.name) ?? '',
          list,
          from: image,
          to: substitutedImage(image, entry.ref),
          entry: entry.input,
          ...(target.file ? { file: target.file } : {}),
          ...(target.line ? { line: target.line } : {}),
        },
      });
    }
  }
  const unused = parsed.filter((e) => !used.has(e.canonical));
  if (unused.length > 0) {
    const present = [...seenImages].sort();
    const shown =
      present.slice(0, 20).join(', ') + (present.length > 20 ? `, … (${present.length} in all)` : '');
    throw new InputError(
      'images',
      `${unused.map((e) => `'${e.input}'`).join(', ')} ${unused.length === 1 ? 'matches' : 'match'} no container image in the manifests (a typo?)`,
      present.length > 0
        ? `entries whose repository (registry host with port, and path) is one the manifests use: ${shown}`
        : 'manifests with containers (the manifests hold no container images)',
    );
  }
  for (const m of matches) m.container.image = m.change.to;
  return matches.map((m) => m.change);
}

/** Looks up the digest of a reference that carries a tag (the registry client, injected). */
export type DigestResolver = (reference: string, ref: ImageReference) => Promise<string>;

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Replaces every substituted tag by `repo@sha256:…`: each distinct tag is resolved once (a few at
 * a time), then every container carrying it is changed and the changes updated. Entries that
 * already pinned a digest are left alone. Failures are collected into one error before anything
 * changes.
 */
export async function pinDigests(
  targets: ImageTarget[],
  changes: ImageChange[],
  resolve: DigestResolver,
  opts: { concurrency?: number } = {},
): Promise<Map<string, string>> {
  const toPin = [...new Set(changes.map((c) => c.to).filter((to) => !to.includes('@')))];
  // `nginx:1` and `docker.io/library/nginx:1` are one lookup.
  const byCanonical = new Map<string, string[]>();
  for (const reference of toPin) {
    const ref = parseImageReference(reference);
    const key = `${canonicalName(ref)}:${ref.tag ?? 'latest'}`;
    byCanonical.set(key, [...(byCanonical.get(key) ?? []), reference]);
  }
  const lookups = [...byCanonical.values()];
  const pinned = new Map<string, string>();
  const failures: string[] = [];
  await eachLimit(lookups, opts.concurrency ?? 4, async (group) => {
    const reference = group[0]!;
    try {
      const digest = (await resolve(reference, parseImageReference(reference))).trim();
      if (!SHA256_DIGEST.test(digest))
        throw new Error(`the registry answered '${digest}', not a sha256 digest`);
      for (const r of group) pinned.set(r, `${repositoryText(r)}@${digest}`);
    } catch (e) {
      failures.push(`'${reference}': ${(e as Error).message}`);
    }
  });
  if (failures.length > 0) {
    failures.sort();
    const where = changes.find((c) => c.file);
    throw new C2CError(
      `Could not resolve ${failures.length === 1 ? 'an image tag' : `${failures.length} image tags`} to a digest (pin-digests is on), nothing was applied:\n${failures.map((f) => `  ${f}`).join('\n')}\n` +
        'Check that the images were pushed and that the registry credentials can read them, or set pin-digests to false.',
      where?.file ? { where: { file: where.file, ...(where.line ? { line: where.line } : {}) } } : {},
    );
  }
  for (const t of targets)
    for (const { container } of containersOf(podSpecOf(t.object))) {
      const image = asString(container.image);
      const p = image ? pinned.get(image) : undefined;
      if (p) container.image = p;
    }
  for (const c of changes) {
    const p = pinned.get(c.to);
    if (p) c.to = p;
  }
  return pinned;
}

/** A one-line description of a change, for logs: `Deployment/prod/web app: a:1 -> a:2 (file:line)`. */
export function describeChange(c: ImageChange): string {
  const where = c.file
    ? ` (${formatWhere({ file: c.file, ...(c.line ? { line: c.line } : {}) }).slice(0, -2)})`
    : '';
  return `${c.kind}/${c.namespace ? `${c.namespace}/` : ''}${c.name} ${c.container}: ${c.from} -> ${c.to}${where}`;
}
