import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { C2CError } from '../core/index.js';
import { isLoopbackHost } from '../images/index.js';

/** A registry the build pulls from or pushes to, with the credentials to use there. */
export interface PushTarget {
  /** host[:port] of the registry, as in image references: ghcr.io, 127.0.0.1:5000. */
  host: string;
  username?: string;
  password?: string;
  /** Plain http (and no TLS verification): allowed for loopback registries only. */
  insecure: boolean;
}

export interface AuthFile {
  /** The file: containers-auth.json / docker config.json format, mode 0600. */
  path: string;
  /** Its private directory (mode 0700); usable as DOCKER_CONFIG since the file is config.json. */
  dir: string;
  /** Removes the directory and everything in it. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface AuthFileOptions {
  /** Existing auth files whose `auths` entries are kept (ours win for the same host). Missing files are ignored. */
  mergeFrom?: string[];
  /** Where the private directory is made. Default: the OS temp dir. */
  tmpDir?: string;
}

interface AuthEntry {
  auth?: string;
  [k: string]: unknown;
}

/** Checks targets: a host, both or neither of username/password, http only for loopback. */
export function validateTargets(targets: PushTarget[]): void {
  for (const t of targets) {
    if (!t.host || /[\s/]/.test(t.host))
      throw new C2CError(
        `Registry host '${t.host}' is not valid: expected host[:port], e.g. ghcr.io or 127.0.0.1:5000.`,
      );
    if (t.insecure && !isLoopbackHost(t.host))
      throw new C2CError(
        `Registry ${t.host}: plain http is allowed only for loopback registries (127.0.0.0/8, localhost, ::1).`,
      );
    if ((t.username ?? '') !== '' && (t.password ?? '') === '')
      throw new C2CError(`Registry ${t.host}: a username ('${t.username}') was given without a password.`);
    if ((t.password ?? '') !== '' && (t.username ?? '') === '')
      throw new C2CError(`Registry ${t.host}: a password was given without a username.`);
  }
}

export function hasCredentials(t: PushTarget): boolean {
  return !!t.username && !!t.password;
}

async function readAuths(file: string): Promise<Record<string, AuthEntry>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { auths?: Record<string, AuthEntry> };
    return parsed && typeof parsed.auths === 'object' && parsed.auths ? parsed.auths : {};
  } catch {
    return {};
  }
}

/**
 * Writes the credentials of the targets into a fresh private directory as `config.json`
 * (`{"auths": {"host": {"auth": base64(user:password)}}}`, the format both buildah's --authfile and
 * docker's config.json read), mode 0600. Credentials travel only through this file, never through
 * a command line. The caller removes it with cleanup() when the build is done.
 */
export async function writeAuthFile(targets: PushTarget[], opts: AuthFileOptions = {}): Promise<AuthFile> {
  const auths: Record<string, AuthEntry> = {};
  for (const file of [...(opts.mergeFrom ?? [])].reverse()) Object.assign(auths, await readAuths(file));
  for (const t of targets) {
    if (!hasCredentials(t)) continue;
    auths[t.host] = { auth: Buffer.from(`${t.username}:${t.password}`).toString('base64') };
  }
  const dir = await mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'c2c-auth-'));
  await chmod(dir, 0o700);
  const file = path.join(dir, 'config.json');
  // Created with 0600 from the start: the secret is never readable by others, not even briefly.
  await writeFile(file, JSON.stringify({ auths }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return {
    path: file,
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The auth files buildah (containers/image) reads by default, most specific first. */
export function defaultContainersAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? os.homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG ?? path.join(home, '.docker'), 'config.json'));
  return files;
}

/**
 * A registries.conf that marks the insecure (loopback, plain http) targets as such, so that `FROM`
 * images on them can be pulled during the build. Starts from the configuration in effect when it is
 * in the v2 format (a v1 file cannot be mixed with [[registry]] tables; it is then left out).
 * Returns undefined when no target is insecure.
 */
export async function registriesConfText(
  targets: PushTarget[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const insecure = [...new Set(targets.filter((t) => t.insecure).map((t) => t.host))];
  if (insecure.length === 0) return undefined;
  let base = '';
  try {
    base = await readFile(env.CONTAINERS_REGISTRIES_CONF ?? '/etc/containers/registries.conf', 'utf8');
  } catch {
    /* none */
  }
  // A host the user's file declares already keeps the user's entry (a second [[registry]] with the
  // same prefix is an error; an entry's prefix is its location when it names none); the rest of the
  // user's file (mirrors, prefixes mapped elsewhere) is kept too.
  const keys = base
    .split(/^\s*\[\[registry\]\]\s*$/m)
    .slice(1)
    .map((block) => {
      const value = (k: string) => new RegExp(`^\\s*${k}\\s*=\\s*["']([^"']*)["']`, 'm').exec(block)?.[1];
      return value('prefix') ?? value('location');
    });
  const declared = (h: string) => keys.includes(h);
  if (/^\s*\[registries\./m.test(base)) base = '';
  const entries = insecure
    .filter((h) => !declared(h))
    .map((h) => `\n[[registry]]\nlocation = "${h}"\ninsecure = true\n`);
  return `${base.trimEnd()}\n${entries.join('')}`.trimStart();
}
