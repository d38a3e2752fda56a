import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A test tool that only Go ships (act, helm), built once per machine by scripts/ensure-<name>.sh
 * (scripts/ensure-go-tool.sh) into ${XDG_CACHE_HOME:-~/.cache}/commit-to-cloud/<name>-<version>/bin;
 * the script is the one place that knows the version.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function goTool(name: string, what: string) {
  const script = path.join(ROOT, 'scripts', `ensure-${name}.sh`);
  const install = `scripts/ensure-${name}.sh`;
  const where = () => execFileSync('bash', [script, '--path'], { encoding: 'utf8' }).trim();
  return {
    install,
    /** Where the script puts it. */
    path: where,
    /**
     * Whether it is there, or Go is there to build it (the first test then builds it). Under CI=true
     * it must be built already (.ci/run's ensure-deps.sh does it): a missing one fails, with the
     * command that builds it, and so does a missing Go.
     */
    have(): boolean {
      const bin = where();
      if (existsSync(bin) && existsSync(path.join(path.dirname(bin), '..', '.complete'))) return true;
      if (process.env.CI === 'true')
        throw new Error(
          `${what} need ${name}, which is not built at ${bin}${hasGo() ? '' : ' (and Go, which builds it, is not installed: https://go.dev/dl/)'}. Build it with: ${install}`,
        );
      return hasGo();
    },
    /** Builds it when missing (says what and why on stderr); returns its path. */
    ensure(): string {
      return execFileSync('bash', [script], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
    },
  };
}
