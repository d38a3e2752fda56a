import { statSync } from 'node:fs';
import path from 'node:path';
import {
  InputError,
  asBool,
  oneOf,
  parseBool,
  parseInputs,
  parseKeyValues,
  parseList,
  pickInputs,
} from '../core/index.js';
import type { InputDef } from '../core/index.js';
import type { BuilderChoice, BuildSecret } from './index.js';
import { SECRET_ID, SECRET_ID_EXPECTED } from './validate.js';

/** The architectures images are built for (Go's GOARCH names, as OCI platforms use them). */
const ARCHITECTURES = ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', 'mips64le', 'loong64'];
const OPERATING_SYSTEMS = ['linux', 'windows'];
const VARIANTS: Record<string, string[]> = {
  arm: ['v5', 'v6', 'v7'],
  arm64: ['v8'],
  amd64: ['v2', 'v3', 'v4'],
};

/**
 * `platforms`: comma- or newline-separated os/arch[/variant], each a platform images are built for
 * (an unknown os, arch or variant is refused, naming the ones there are); duplicates dropped.
 */
export function platformList(value: string, name: string): string[] {
  const platforms = [...new Set(parseList(value))];
  const expected = "os/arch[/variant], e.g. 'linux/amd64' or 'linux/arm64'";
  for (const p of platforms) {
    const [os, arch, variant, ...rest] = p.split('/');
    if (!os || !arch || rest.length || p !== p.toLowerCase())
      throw new InputError(name, `'${p}' is not a platform`, expected);
    if (!OPERATING_SYSTEMS.includes(os))
      throw new InputError(
        name,
        `'${p}': '${os}' is not an operating system images are built for`,
        `one of ${OPERATING_SYSTEMS.join(', ')}`,
      );
    if (!ARCHITECTURES.includes(arch))
      throw new InputError(
        name,
        `'${p}': '${arch}' is not a known architecture`,
        `one of ${ARCHITECTURES.join(', ')}`,
      );
    if (variant !== undefined && !(VARIANTS[arch] ?? []).includes(variant))
      throw new InputError(
        name,
        `'${p}': '${variant}' is not a variant of ${arch}`,
        VARIANTS[arch] ? `one of ${VARIANTS[arch]!.join(', ')}, or none` : `no variant ('${os}/${arch}')`,
      );
  }
  return platforms;
}

/** The build inputs every building action shares (same names, defaults and parsing). */
export const BUILD_INPUT_DEFS = {
  platforms: {
    default: '',
    description:
      "Platforms to build for, comma- or newline-separated, e.g. `linux/amd64,linux/arm64` (Graviton). More than one makes one image index (a manifest list), pinned by its digest; empty: the runner's own platform.",
    parse: platformList,
  },
  'build-args': {
    default: '',
    description:
      'Newline-separated `KEY=VALUE` build arguments. Not for secrets: a build argument stays readable in the image; the values of names containing `TOKEN`, `PASSWORD`, `SECRET` or `KEY` are hidden in the log, with a warning to use `secrets`.',
  },
  secrets: {
    default: '',
    secret: true,
    description:
      'Build secrets, one `id=value` per line, for `RUN --mount=type=secret,id=<id>` (read from `/run/secrets/<id>` in that step only). Never on a command line, in the log or in the image. An empty value fails (an unset repository secret expands to nothing).',
  },
  'secret-files': {
    default: '',
    description:
      'Build secrets read from files, one `id=path` per line (path relative to the workspace), for `RUN --mount=type=secret,id=<id>`.',
  },
  cache: {
    default: 'registry',
    description:
      '`registry`: a layer cache in the registry, in the repository next to the image with `-cache` appended (e.g. `shop-api-cache`), so a fresh runner skips the steps whose inputs did not change; `none`: no cache. Not used by a multi-platform buildah build.',
    parse: oneOf(['registry', 'none']),
  },
  builder: {
    default: 'auto',
    description:
      '`docker` (docker buildx), `buildah`, or `auto` (docker when a daemon answers, else buildah).',
    parse: oneOf(['auto', 'docker', 'buildah']),
  },
  'registry-password': {
    default: '',
    secret: true,
    description: 'Registry password or token for non-ECR registries.',
  },
  sbom: {
    default: 'false',
    description:
      '`true`: every pushed image gets an SPDX SBOM. docker buildx: its own attestation (`--sbom=true`); buildah: made by [syft](https://github.com/anchore/syft) (on PATH: `anchore/sbom-action/download-syft`) from the pushed image and attached to it as an OCI referrer (signed as an attestation with `sign-key`).',
    parse: asBool,
  },
  provenance: {
    default: 'false',
    description:
      '`true`: every pushed image gets a SLSA v1 provenance (what it was built from: the repository and commit, the Dockerfile, the build argument names, the base image; by whom: the run). docker buildx: `--provenance=mode=max`; buildah: an in-toto statement attached as an OCI referrer (signed with `sign-key`).',
    parse: asBool,
  },
  'sign-key': {
    default: '',
    secret: true,
    description:
      'Signs every pushed image digest, as a Sigstore bundle (an OCI referrer) that `cosign verify --key` accepts: a cosign key (`cosign generate-key-pair`; its password in `sign-key-password`) or a PKCS#8 PEM, given as the key itself (a secret), `env://NAME` or a path; or an AWS KMS key, `awskms:///alias/NAME` (or its ARN); or `sigstore`: keyless, with the GitHub OIDC token of the job (`id-token: write`), a Fulcio certificate and a Rekor entry on the public Sigstore instance. Empty: nothing is signed.',
  },
  'sign-key-password': {
    default: '',
    secret: true,
    description: 'The password of an encrypted cosign `sign-key` (else COSIGN_PASSWORD).',
  },
} as const satisfies Record<string, InputDef>;

export interface BuildCommonRaw {
  sbom?: string;
  provenance?: string;
  'sign-key'?: string;
  'sign-key-password'?: string;
  'build-args': string;
  builder: string;
  cache: string;
  'registry-username': string;
  'registry-password': string;
  secrets: string;
  'secret-files': string;
}

export interface BuildCommon {
  buildArgs: Array<[string, string]>;
  secrets: BuildSecret[];
  builder: BuilderChoice;
  /** `cache: registry`: a layer cache in the repository next to the image (`<repository>-cache`). */
  layerCache: boolean;
  username?: string;
  password?: string;
  /** `sbom`, `provenance`, `sign-key`: what is attached to every pushed image (src/supplychain). */
  attest: AttestInputs;
}

/** The inputs of what goes with a pushed image; the key is read (and checked) by readAttest. */
export interface AttestInputs {
  sbom: boolean;
  provenance: boolean;
  signKey?: { value: string; password?: string };
}

/**
 * What of the inputs must never reach a log: the key's password, and a key given as itself (a
 * secret's value) whole and line by line (a log line holds at most one of its lines).
 */
export function attestSecrets(inputs: AttestInputs | undefined): string[] {
  const key = inputs?.signKey;
  if (!key) return [];
  const out = key.password ? [key.password] : [];
  if (key.value.startsWith('-----BEGIN'))
    out.push(
      key.value,
      ...key.value
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length > 8),
    );
  return out;
}

/** `id=…` lines of `input`, numbered as the user wrote them; a bad line is refused without its content. */
function idLines(input: string, value: string, what: string, example: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [i, raw] of value.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw new InputError(
        input,
        `line ${i + 1} is not id=${what} (its content is not shown: it may be a secret)`,
        `one id=${what} per line, e.g. '${example}'`,
      );
    const id = line.slice(0, eq).trim();
    if (!SECRET_ID.test(id))
      throw new InputError(input, `'${id}' is not a valid secret id`, SECRET_ID_EXPECTED);
    out.push([id, line.slice(eq + 1)]);
  }
  return out;
}

/** `secrets` (id=value) and `secret-files` (id=path, relative to the workspace): each id once. */
export function parseBuildSecrets(
  raw: { secrets: string; 'secret-files': string },
  workspace: string,
): BuildSecret[] {
  const secrets: BuildSecret[] = [];
  const seen = new Set<string>();
  const once = (input: string, id: string) => {
    if (seen.has(id))
      throw new InputError(
        input,
        `secret id '${id}' is given twice (in 'secrets' or 'secret-files')`,
        'each id once',
      );
    seen.add(id);
  };
  for (const [id, value] of idLines('secrets', raw.secrets, 'value', 'npm_token=${{ secrets.NPM_TOKEN }}')) {
    once('secrets', id);
    if (!value)
      throw new InputError(
        'secrets',
        `secret '${id}' is empty (a secret that is not set expands to an empty string)`,
        `id=value with a value: check that the secret behind '${id}' exists and is available to this workflow`,
      );
    secrets.push({ id, value });
  }
  for (const [id, rel] of idLines('secret-files', raw['secret-files'], 'path', 'npmrc=.npmrc')) {
    once('secret-files', id);
    const file = rel.trim();
    const expected = 'id=path with the path of a file, relative to the workspace';
    if (!file) throw new InputError('secret-files', `secret '${id}' names no file`, expected);
    if (file.includes(','))
      throw new InputError(
        'secret-files',
        `the path of secret '${id}', '${file}', contains a comma`,
        'a path without commas',
      );
    const abs = path.resolve(workspace, file);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new InputError(
        'secret-files',
        `the file of secret '${id}', '${file}', does not exist (looked for ${abs})`,
        expected,
      );
    }
    if (!st.isFile())
      throw new InputError(
        'secret-files',
        `the file of secret '${id}', '${file}' is not a regular file`,
        expected,
      );
    secrets.push({ id, file: abs });
  }
  return secrets;
}

export function parseBuildCommon(raw: BuildCommonRaw, workspace: string): BuildCommon {
  // Through parseInputs, so that a blank value gets the default by the one rule every input follows.
  const { builder, cache } = parseInputs(pickInputs(BUILD_INPUT_DEFS, 'builder', 'cache'), raw);
  const signKey = raw['sign-key']?.trim() ?? '';
  const signKeyPassword = raw['sign-key-password'] ?? '';
  if (signKeyPassword && !signKey)
    throw new InputError(
      'sign-key-password',
      "is set but 'sign-key' is empty",
      "a 'sign-key', or no password",
    );
  const attest: AttestInputs = {
    sbom: parseBool('sbom', raw.sbom, false),
    provenance: parseBool('provenance', raw.provenance, false),
    ...(signKey
      ? { signKey: { value: signKey, ...(signKeyPassword ? { password: signKeyPassword } : {}) } }
      : {}),
  };
  const buildArgs = parseKeyValues('build-args', raw['build-args']);
  const secrets = parseBuildSecrets(raw, workspace);
  const username = raw['registry-username'].trim();
  const password = raw['registry-password'];
  if (password && !username)
    throw new InputError(
      'registry-username',
      "is empty but 'registry-password' is set",
      'the user name that goes with the password',
    );
  return {
    buildArgs,
    secrets,
    builder,
    layerCache: cache === 'registry',
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    attest,
  };
}
