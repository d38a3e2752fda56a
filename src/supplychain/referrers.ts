import {
  digestOf,
  OCI_INDEX,
  OCI_MANIFEST,
  type ReferrerDescriptor,
  type Registry,
} from '../registry/index.js';

/**
 * OCI 1.1 referrers: an artifact (a signature bundle, an SBOM, a provenance statement) stored as an
 * image manifest whose `subject` is the image it is about. A registry with the referrers API (ECR,
 * Harbor, distribution 3, zot) lists it by itself; for one without (distribution 2.x, the registry the
 * tests start), the spec's fallback: an index under the tag `sha256-<hex>` of the subject, which the
 * writer keeps (read, append, put). cosign v3 reads and writes both.
 */
export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', data: '{}' };

export interface Subject {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
}

/** The referrers tag of a digest (the fallback schema). */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/** Stores `content` as an artifact of `artifactType` that refers to `subject`; returns its digest. */
export async function attach(
  reg: Registry,
  subject: Subject,
  artifactType: string,
  content: Buffer,
  annotations: Record<string, string> = {},
): Promise<string> {
  const { repository } = subject;
  const config = Buffer.from(EMPTY_CONFIG.data, 'utf8');
  const [configDigest, layerDigest] = await Promise.all([
    reg.pushBlob(repository, config),
    reg.pushBlob(repository, content),
  ]);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: configDigest, size: config.length },
    layers: [{ mediaType: artifactType, digest: layerDigest, size: content.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(Object.keys(annotations).length ? { annotations } : {}),
  });
  const { digest, indexed } = await reg.putReferrer(repository, manifest, OCI_MANIFEST);
  if (!indexed) {
    const tag = referrersTag(subject.digest);
    const existing = await fallbackIndex(reg, repository, subject.digest);
    if (!existing.some((m) => m.digest === digest)) {
      const entry: ReferrerDescriptor = {
        mediaType: OCI_MANIFEST,
        digest,
        size: Buffer.byteLength(manifest),
        artifactType,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      };
      await reg.putManifest(
        repository,
        tag,
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...existing, entry] }),
        OCI_INDEX,
      );
    }
  }
  return digest;
}

async function fallbackIndex(
  reg: Registry,
  repository: string,
  digest: string,
): Promise<ReferrerDescriptor[]> {
  const tag = referrersTag(digest);
  if (!(await reg.head(repository, tag))) return [];
  const { json } = await reg.getManifest(repository, tag);
  return Array.isArray(json?.manifests) ? (json.manifests as ReferrerDescriptor[]) : [];
}

/** The referrers of a digest, of one artifact type: from the referrers API, else the fallback tag. */
export async function referrersOf(
  reg: Registry,
  repository: string,
  digest: string,
  artifactType: string,
): Promise<ReferrerDescriptor[]> {
  const listed = (await reg.referrers(repository, digest)) ?? (await fallbackIndex(reg, repository, digest));
  return listed.filter((m) => m.artifactType === artifactType);
}

/** The content of an artifact (its one layer), checked against the digests it is stored by. */
export async function artifactContent(reg: Registry, repository: string, digest: string): Promise<Buffer> {
  const { json } = await reg.getManifest(repository, digest);
  const layer = json?.layers?.[0];
  if (!layer?.digest) return Buffer.alloc(0);
  const blob = await reg.getBlob(repository, String(layer.digest));
  if (digestOf(blob) !== layer.digest) return Buffer.alloc(0);
  return blob;
}
