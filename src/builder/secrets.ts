import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/index.js';
import type { BuildSecret } from './types.js';
import type { ValidatedRequest } from './validate.js';

/**
 * Secrets of a build: the build secrets (`secrets`, `secret-files`), handed to the builder as files,
 * and build arguments whose names look secret, hidden wherever this program shows them.
 */

/** A build argument name that looks like it holds a secret: *TOKEN*, *PASSWORD*, *SECRET*, *KEY* (any case). */
export function looksSecret(name: string): boolean {
  return /token|password|secret|key/i.test(name);
}

/** A command line as it may be shown: `--build-arg NAME=***` for every name that looks secret. */
export function displayBuildArgs(args: readonly string[]): string[] {
  return args.map((a, i) => {
    if (args[i - 1] !== '--build-arg') return a;
    const eq = a.indexOf('=');
    return eq > 0 && looksSecret(a.slice(0, eq)) ? `${a.slice(0, eq)}=***` : a;
  });
}

/** Masking below this length would hide every occurrence of common short strings ('1', 'yes'). */
const MIN_MASKED_ARG = 4;
/** A secret file larger than this is not read for masking (a key store, not a line of text). */
const MAX_MASKED_FILE = 64 * 1024;

/**
 * Registers every secret of the request with the logger before the builder runs: secret values,
 * the content of (small) secret files, and the values of build arguments whose names look secret,
 * with a warning for each of those: a build argument stays readable in the image.
 */
export async function registerBuildSecrets(req: ValidatedRequest, logger: Logger): Promise<void> {
  for (const s of req.secrets ?? []) {
    if ('value' in s) logger.secret(s.value);
    else {
      const st = await stat(s.file).catch(() => undefined);
      if (st && st.size <= MAX_MASKED_FILE) {
        const content = await readFile(s.file, 'utf8').catch(() => '');
        if (content.trim()) logger.secret(content.trim());
      }
    }
  }
  for (const [name, value] of req.buildArgs ?? []) {
    if (!looksSecret(name)) continue;
    if (value.length >= MIN_MASKED_ARG) logger.secret(value);
    const where = req.inputNames?.buildArgs ? `Input '${req.inputNames.buildArgs}': ` : 'Build argument ';
    logger.warning(
      `${where}${name} looks like a secret. Its value is hidden in this log, but a build argument stays readable in the image (its history and config): pass it in '${req.inputNames?.secrets ?? 'secrets'}' instead and read it with RUN --mount=type=secret,id=${name}.`,
    );
  }
}

/**
 * The file each secret is read from, in the order of the request: a value goes into a new 0600 file
 * in `dir` (a private directory the caller removes), a file secret is its own file.
 */
export async function writeSecretSources(secrets: readonly BuildSecret[], dir: string): Promise<string[]> {
  const sources: string[] = [];
  for (const [i, s] of secrets.entries()) {
    if ('file' in s) {
      sources.push(s.file);
      continue;
    }
    const file = path.join(dir, `secret-${i}`);
    await writeFile(file, s.value, { mode: 0o600, flag: 'wx' });
    sources.push(file);
  }
  return sources;
}

/** `--secret id=<id>,src=<file>` for buildah and docker buildx alike. */
export function secretArgs(
  secrets: readonly BuildSecret[],
  sources: readonly string[] | undefined,
): string[] {
  return secrets.flatMap((s, i) => {
    const src = sources?.[i] ?? ('file' in s ? s.file : undefined);
    if (!src) throw new Error(`build secret '${s.id}' has no file to be read from (writeSecretSources)`);
    return ['--secret', `id=${s.id},src=${src}`];
  });
}
