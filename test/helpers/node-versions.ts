import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Node.js versions the `c2c` CLI supports (package.json engines), each with a binary to run it:
 * 24 is the project's own (the npm package node@24, a devDependency), 20 and 22 the npm packages
 * node@20 and node@22 installed outside the repository by scripts/install-node-versions.sh
 * (which .ci/run and scripts/test.sh run through scripts/ensure-deps.sh).
 */
export const CLI_NODE_MAJORS = [20, 22, 24] as const;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const INSTALL_NODE_VERSIONS = 'scripts/install-node-versions.sh';

export interface NodeBinary {
  major: number;
  /** Absolute path of the node binary, or undefined when it is not installed (outside CI). */
  bin?: string;
  /** The full version it reports. */
  version?: string;
}

export function nodeBinaryPath(major: number): string {
  if (major === 24) return path.join(ROOT, 'node_modules/node/bin/node');
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'commit-to-cloud', `node-${major}`, 'node_modules/node/bin/node');
}

/**
 * The binary of each supported major. Under CI=true a missing one (or one of another major) is a
 * failure whose message carries the install command; elsewhere it is left out (its tests skip).
 */
export function nodeBinaries(): NodeBinary[] {
  return CLI_NODE_MAJORS.map((major) => {
    const bin = nodeBinaryPath(major);
    let version: string | undefined;
    if (existsSync(bin)) {
      try {
        version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
      } catch {
        version = undefined;
      }
    }
    if (version?.split('.')[0] === String(major)) return { major, bin, version };
    if (process.env.CI === 'true')
      throw new Error(
        `The CLI tests need Node ${major} at ${bin}${version ? ` (found ${version})` : ''}. Install it with: ${INSTALL_NODE_VERSIONS}`,
      );
    return { major };
  });
}
