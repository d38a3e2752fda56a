import { execFileSync } from 'node:child_process';

/**
 * Whether a system tool the tests need is installed. Under CI=true a missing tool is a failure whose
 * message carries the install command; elsewhere the tests that need it are skipped.
 */
export const INSTALL: Record<string, string> = {
  'docker-registry': 'apt-get install -y docker-registry',
  buildah: 'apt-get install -y buildah',
  kubectl: 'apt-get install -y kubectl',
  busybox: 'apt-get install -y busybox-static',
  git: 'apt-get install -y git',
  openssl: 'apt-get install -y openssl',
};

const cache = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  let ok = cache.get(name);
  if (ok === undefined) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    cache.set(name, ok);
  }
  if (!ok && process.env.CI === 'true') {
    throw new Error(
      `The tests need '${name}', which is not installed. Install it with: ${INSTALL[name] ?? `apt-get install -y ${name}`}`,
    );
  }
  return ok;
}

/** True when every tool is there (throws under CI=true when one is missing). */
export function haveTools(...names: string[]): boolean {
  return names.map(hasTool).every(Boolean);
}
