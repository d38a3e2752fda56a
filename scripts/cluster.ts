// The CLI behind scripts/cluster.sh: build, start and stop the local Kubernetes control plane that
// the cluster tests use (test/helpers/cluster.ts does the work; this file only reads the command).
import path from 'node:path';
import {
  GoMissingError,
  ensureControlPlane,
  missingBinaries,
  binDir,
  updateGoSums,
} from '../test/helpers/cluster-build.js';
import {
  ClusterStartError,
  attach,
  isClusterUp,
  readState,
  startCluster,
  stopCluster,
} from '../test/helpers/cluster.js';

const USAGE = `usage: scripts/cluster.sh <command>
  build              build the binaries into the cache when they are missing (once, about 13 minutes on two cores)
  up DIR [--nodes N] start a control plane with its files in DIR; prints DIR/kubeconfig when ready
  down DIR           stop the processes 'up DIR' started (DIR stays, with the logs)
  env DIR            print shell exports (KUBECONFIG, PATH with our kubectl first): eval "$(scripts/cluster.sh env DIR)"
  status DIR         say whether the control plane in DIR is up (exit 0) or not (exit 1)
  sums               rewrite scripts/cluster/*/go.sum for the versions in versions.env (after changing one)`;

const say = (line: string) => process.stderr.write(`${line}\n`);
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function main(argv: string[]): Promise<number> {
  const [cmd, dirArg, ...rest] = argv;
  const needDir = () => {
    if (!dirArg) throw new UsageError(`${cmd} needs a work dir`);
    return path.resolve(dirArg);
  };
  switch (cmd) {
    case 'build': {
      const present = missingBinaries().length === 0;
      const bin = await ensureControlPlane({ log: say });
      if (present) say(`the control plane is built already: ${bin}`);
      process.stdout.write(`${bin}\n`);
      return 0;
    }
    case 'up': {
      const dir = needDir();
      let nodes = 1;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--nodes') nodes = Number(rest[++i]);
        else throw new UsageError(`unknown option ${rest[i]}`);
      }
      if (!Number.isInteger(nodes) || nodes < 1) throw new UsageError('--nodes needs a whole number >= 1');
      const cluster = await startCluster({ dir, nodes, log: say });
      process.stdout.write(`${cluster.kubeconfigPath}\n`);
      return 0;
    }
    case 'down': {
      const dir = needDir();
      const stopped = await stopCluster(dir);
      say(stopped.length ? `stopped ${stopped.join(', ')}` : `nothing was running in ${dir}`);
      return 0;
    }
    case 'env': {
      const dir = needDir();
      const c = attach(dir);
      process.stdout.write(
        `export KUBECONFIG=${shellQuote(c.kubeconfigPath)}\nexport PATH=${shellQuote(c.binDir)}:"$PATH"\n`,
      );
      return 0;
    }
    case 'status': {
      const dir = needDir();
      const up = await isClusterUp(dir);
      if (up) {
        const st = readState(dir);
        say(
          `up: ${st.server}, pids ${Object.entries(st.pids)
            .map(([c, p]) => `${c}=${p}`)
            .join(' ')}`,
        );
      } else say(`not up in ${dir}`);
      return up ? 0 : 1;
    }
    case 'sums': {
      await updateGoSums(say);
      return 0;
    }
    default:
      throw new UsageError(cmd ? `unknown command ${cmd}` : 'no command');
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) say(`${e.message}\n${USAGE}`);
    else if (e instanceof GoMissingError || e instanceof ClusterStartError) say(e.message);
    else say((e as Error).stack ?? String(e));
    if (!(e instanceof UsageError)) say(`(binaries: ${binDir()})`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
