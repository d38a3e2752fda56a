import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, asBool, asLines, asTrimmed, oneOf, parseInputs, parseList } from '../core/index.js';
import type { InputSpec, RawInputs } from '../core/index.js';
import { parseImageInput, type ImageReference } from '../images/index.js';
import type { HashMode } from '../fingerprint/index.js';
import type { BuilderChoice, BuildSecret } from '../builder/index.js';
import { BUILD_INPUT_DEFS, parseBuildCommon, type AttestInputs } from '../builder/index.js';
import { MAX_PREVIOUS_READS } from './previous.js';
import type { HashBaseResult } from './run.js';

const TAG_CHARS = /^[\w][\w.-]*$/;

// The parsers of hash-base's own inputs (InputDef.parse), each beside its input below.

/** Empty, or a repository (no tag, no digest). */
function repository(value: string, name: string): ImageReference | undefined {
  return value.trim() ? parseImageInput(name, value, { repositoryOnly: true }) : undefined;
}

function tagPrefix(value: string, name: string): string {
  if (value && (!TAG_CHARS.test(value) || value.length > 100))
    throw new InputError(
      name,
      `'${value}' cannot start a tag`,
      'letters, digits, _ . - (not starting with . or -), at most 100 characters',
    );
  return value;
}

function tagList(value: string, name: string): string[] {
  const tags = parseList(value);
  for (const t of tags)
    if (!TAG_CHARS.test(t) || t.length > 128)
      throw new InputError(
        name,
        `'${t}' is not a valid tag`,
        'letters, digits, _ . - (not starting with . or -)',
      );
  return tags;
}

/** The inputs of action-hash-base and `c2c hash-base`: names, defaults and meaning. */
export const HASH_BASE_INPUTS = {
  files: {
    required: true,
    description:
      'Newline-separated glob patterns in hashFiles syntax (`**`, `!` excludes), relative to the workspace.',
    parse: asLines,
  },
  mode: {
    default: 'content',
    description:
      '`content`, `hashfiles` (byte for byte what `hashFiles()` gives) or `git` (git object ids at HEAD).',
    parse: oneOf(['content', 'hashfiles', 'git']),
  },
  extra: {
    default: '',
    description:
      'Newline-separated strings mixed into the hash (build args, platform, a salt that forces a rebuild). Refused in `hashfiles` mode.',
    parse: asLines,
  },
  image: {
    default: '',
    description:
      'Base image repository, e.g. `ghcr.io/org/app-base` or `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app-base`. Empty: only hash.',
    parse: repository,
  },
  'tag-prefix': {
    default: 'deps-',
    description: 'Tag = prefix + the first 16 hex characters of the hash.',
    parse: tagPrefix,
  },
  check: {
    default: 'registry',
    description:
      '`registry` (the tag exists in the registry), `cache` (an Actions cache entry keyed `<tag-prefix><hash>` exists; on a hit with `image` set, one HEAD reads `digest`, and an image the registry no longer has needs a build) or `none` (always needs a build).',
    parse: oneOf(['registry', 'cache', 'none']),
  },
  build: {
    default: 'false',
    description:
      'When `true` and a build is needed: build `dockerfile` in `context`, push the tag and `extra-tags`.',
    parse: asBool,
  },
  context: { default: '.', description: 'Build context, relative to the workspace.', parse: asTrimmed },
  dockerfile: {
    default: 'Dockerfile.base',
    description: 'Dockerfile, relative to `context`.',
    parse: asTrimmed,
  },
  'build-args': BUILD_INPUT_DEFS['build-args'],
  secrets: BUILD_INPUT_DEFS.secrets,
  'secret-files': BUILD_INPUT_DEFS['secret-files'],
  target: { default: '', description: 'Build stage to build.', parse: asTrimmed },
  platforms: BUILD_INPUT_DEFS.platforms,
  cache: BUILD_INPUT_DEFS.cache,
  'extra-tags': { default: '', description: 'Moving tags to push as well, e.g. `latest`.', parse: tagList },
  builder: BUILD_INPUT_DEFS.builder,
  'registry-username': {
    default: '',
    description: 'Registry user for non-ECR registries. ECR hosts use AWS credentials from the environment.',
  },
  'registry-password': BUILD_INPUT_DEFS['registry-password'],
  sbom: BUILD_INPUT_DEFS.sbom,
  provenance: BUILD_INPUT_DEFS.provenance,
  'sign-key': BUILD_INPUT_DEFS['sign-key'],
  'sign-key-password': BUILD_INPUT_DEFS['sign-key-password'],
  'allow-empty': {
    default: 'false',
    description:
      'Patterns that match no file: `false` fails naming the patterns; `true` gives an empty hash and `needs-build` false.',
    parse: asBool,
  },
} as const satisfies InputSpec;

export type HashBaseRaw = RawInputs<typeof HASH_BASE_INPUTS>;

export const HASH_BASE_OUTPUTS = {
  hash: 'The dependency hash: 64 hex characters (empty when nothing matched and `allow-empty` is true).',
  tag: 'The base image tag: `tag-prefix` + the first 16 hex characters of the hash.',
  'image-ref': '`image:tag`, when `image` is set.',
  'needs-build': '`true` when no base image (or cache entry) exists for this hash yet.',
  built: '`true` when this run built and pushed the base image.',
  digest:
    'The manifest digest (`sha256:…`) when the image exists or was pushed. With `check: cache` it is read with one HEAD on a hit; a registry that cannot be read then leaves it empty, with a warning.',
  'files-count': 'How many files went into the hash.',
  changed: `When a build is needed and the registry holds an earlier base with a hash manifest: the files added, removed or changed since the newest of them (by the label \`org.opencontainers.image.created\`, else the config's \`created\`), one per line. Every tag of \`image\` with \`tag-prefix\` and a hash is a candidate; at most ${MAX_PREVIOUS_READS} are read (a manifest and a config each), the registry's listing order deciding which when there are more.`,
  'manifest-path':
    'Path of the hash manifest written by this run (each file with its digest, the mode, the extra strings).',
} as const;

/** The step's outputs from hash-base's result: one mapping, for the action and `c2c hash-base` alike. */
export function hashBaseOutputs(r: HashBaseResult): Record<keyof typeof HASH_BASE_OUTPUTS, string> {
  return {
    hash: r.hash,
    tag: r.tag,
    'image-ref': r.imageRef,
    'needs-build': String(r.needsBuild),
    built: String(r.built),
    digest: r.digest,
    'files-count': String(r.filesCount),
    changed: r.changed.join('\n'),
    'manifest-path': r.manifestPath,
  };
}

export interface HashBaseOptions {
  workspace: string;
  patterns: string[];
  mode: HashMode;
  extra: string[];
  image?: ImageReference;
  tagPrefix: string;
  check: 'registry' | 'cache' | 'none';
  build: boolean;
  context: string;
  dockerfile: string;
  buildArgs: Array<[string, string]>;
  /** Build secrets (`secrets`, `secret-files`). */
  secrets?: BuildSecret[];
  target?: string;
  platforms: string[];
  extraTags: string[];
  builder: BuilderChoice;
  /** A layer cache in `<repository>-cache` (`cache: registry`). */
  layerCache: boolean;
  username?: string;
  password?: string;
  /** `sbom`, `provenance`, `sign-key`: what goes with the pushed base (src/supplychain). */
  attest?: AttestInputs;
  allowEmpty: boolean;
}

/** Validates every input before anything happens; the first problem is one InputError naming its input. */
export function parseHashBaseInputs(raw: HashBaseRaw, workspace: string): HashBaseOptions {
  const v = parseInputs(HASH_BASE_INPUTS, raw);
  const { files: patterns, mode, extra, check, build, image, platforms } = v;
  if (patterns.length === 0)
    throw new InputError(
      'files',
      'no pattern given',
      'newline-separated glob patterns such as `requirements*.txt` or `**/package-lock.json`',
    );
  if (mode === 'hashfiles' && extra.length > 0)
    throw new InputError(
      'extra',
      "cannot be used with mode 'hashfiles', whose value must equal GitHub's hashFiles() exactly",
      "no 'extra', or mode 'content'",
    );
  const common = parseBuildCommon(raw, workspace);
  const { builder, buildArgs, secrets, layerCache } = common;
  if (build && !image)
    throw new InputError(
      'image',
      "is empty but 'build' is true: there is nowhere to push",
      "a repository such as 'ghcr.io/org/app-base'",
    );
  const context = path.resolve(workspace, v.context);
  const dockerfile = path.resolve(context, v.dockerfile);
  if (build) {
    if (!existsSync(context) || !statSync(context).isDirectory())
      throw new InputError(
        'context',
        `'${raw.context}' is not a directory in the workspace`,
        'a build context directory relative to the workspace',
      );
    if (!existsSync(dockerfile) || !statSync(dockerfile).isFile())
      throw new InputError(
        'dockerfile',
        `'${raw.dockerfile}' does not exist in context '${raw.context}' (looked for ${dockerfile})`,
        'a Dockerfile path relative to `context`',
      );
  }
  const { username, password } = common;
  return {
    workspace,
    patterns,
    mode,
    extra,
    ...(image ? { image } : {}),
    tagPrefix: v['tag-prefix'],
    check,
    build,
    context,
    dockerfile,
    buildArgs,
    secrets,
    ...(v.target ? { target: v.target } : {}),
    platforms,
    extraTags: v['extra-tags'],
    builder,
    layerCache,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(common.attest.sbom || common.attest.provenance || common.attest.signKey
      ? { attest: common.attest }
      : {}),
    allowEmpty: v['allow-empty'],
  };
}
