import type { Logger } from '../core/index.js';
import type { PushTarget } from './auth.js';

export type BuilderChoice = 'auto' | 'docker' | 'buildah';
export type BuilderName = 'docker' | 'buildah';

/**
 * Names of the user-facing inputs behind the request's fields. When the caller gives them, bad
 * values raise an InputError naming the input ("Input 'dockerfile': ..."); without them, a C2CError
 * naming the field and the path ("Dockerfile '/w/Dockerfile.base' does not exist ...").
 */
export interface BuildInputNames {
  context?: string;
  dockerfile?: string;
  tags?: string;
  buildArgs?: string;
  target?: string;
  platforms?: string;
  labels?: string;
  /** The input of value secrets (id=value). */
  secrets?: string;
  /** The input of file secrets (id=path). */
  secretFiles?: string;
}

/**
 * A build secret, for `RUN --mount=type=secret,id=<id>` (at /run/secrets/<id> during that step
 * only): a value (written to a private 0600 file for the builder, removed after) or a file the
 * builder reads. Never on a command line, in a log or in an image layer.
 */
export type BuildSecret = { id: string; value: string } | { id: string; file: string };

/**
 * What a tag holds in the registry now: the manifest (or index) digest and the image config
 * digests under it (one for an image, one per platform for an index), sorted. An image's config
 * digest is its image id, so two builds of the same content compare equal however the layers
 * were compressed.
 */
export interface TagHolding {
  digest: string;
  configs: string[];
}

export interface BuildRequest {
  /** Build context directory (absolute or relative to cwd). */
  context: string;
  /** Dockerfile path (absolute or relative to cwd), validated to exist before anything runs. */
  dockerfile: string;
  /** Full references to push, each with a tag: 127.0.0.1:5000/app-base:deps-0123abcd… */
  tags: string[];
  /** Build arguments. Values of names that look secret (see looksSecret) are hidden in every log line. */
  buildArgs?: Array<[string, string]>;
  /** Build secrets (RUN --mount=type=secret). */
  secrets?: BuildSecret[];
  target?: string;
  /** os/arch[/variant]; more than one makes a multi-platform index. */
  platforms?: string[];
  /** OCI labels in the image config. */
  labels?: Record<string, string>;
  /** Manifest annotations (OCI format; buildah and docker buildx both support them). */
  annotations?: Record<string, string>;
  /**
   * Registries with their credentials, for pushing and for pulling FROM images. A loopback tag host
   * without an entry is pushed to over plain http without credentials.
   */
  targets: PushTarget[];
  logger: Logger;
  /** For error messages: which inputs the fields came from (see BuildInputNames). */
  inputNames?: BuildInputNames;
  /**
   * A layer cache in the registry: the repository (host/name, no tag) next to the image, e.g.
   * 127.0.0.1:5000/shop-api-cache. buildah: `--cache-from`/`--cache-to` it (one tag per cached step);
   * docker buildx: `type=registry,mode=max` under its `buildcache` tag, in ECR-compatible OCI
   * manifests. Not used for a multi-platform buildah build (which runs without `--layers`).
   */
  cacheRepository?: string;
  /** Image format for buildah: 'oci' (default; carries annotations) or 'docker'. */
  format?: 'oci' | 'docker';
  /** Epoch seconds for the created time and file times (reproducible builds). */
  timestamp?: number;
  /** Where private files (auth file, registries.conf, digest files) are made. Default: OS temp dir. */
  tmpDir?: string;
  /**
   * Tags of `tags` that are never moved (content-addressed: src-…, deps-…, sha-…). Before one is
   * pushed, `holding` says what it holds: nothing, and it is pushed; this very image (the same
   * config digests), and it is not pushed again (success, its digest reported); another image, and
   * the build fails with a TagHeldError naming both, the tag untouched. A registry that refuses to
   * overwrite a tag (ECR IMMUTABLE) is asked the same way after the refusal.
   */
  immutableTags?: readonly string[];
  /** The registry's answer for a tag of `immutableTags` (undefined: no such tag). */
  holding?: (tag: string) => Promise<TagHolding | undefined>;
  /**
   * When an immutable tag holds another image: 'fail' (default) with a TagHeldError; 'use' takes
   * the image it holds (a warning names both), for the race of two runs that built the same
   * content at once (the caller checked the tag before building; the first push wins).
   */
  whenHeld?: 'fail' | 'use';
  /** docker buildx: attach an SBOM and a SLSA provenance to the pushed index (buildah: see src/supplychain). */
  attestations?: { sbom: boolean; provenance: boolean };
  /** Environment for the builder process. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface BuildResult {
  /** sha256:… of the pushed manifest (or index, for several platforms). */
  digest: string;
  builder: BuilderName;
  durationMs: number;
}
